package sentinelone

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SystemStatus calls GET /system/status (no authentication) and returns nil when
// the console reports {"data":{"health":"ok"}}. Use it as a reachability check
// before credentials are verified.
func (c *Client) SystemStatus(ctx context.Context) error {
	var data struct {
		Health FlexString `json:"health"`
	}
	if err := c.getData(ctx, request{method: http.MethodGet, path: "/system/status", noAuth: true}, &data); err != nil {
		return err
	}
	if !strings.EqualFold(string(data.Health), "ok") {
		return &APIError{Status: http.StatusServiceUnavailable, Method: http.MethodGet, Path: "/system/status",
			Title: "Console unhealthy", Detail: fmt.Sprintf("health is %q, expected \"ok\"", sanitize(string(data.Health), c.token, 64))}
	}
	return nil
}

// SystemInfo is GET /system/info data.
type SystemInfo struct {
	Build              FlexString `json:"build"`
	Version            FlexString `json:"version"`
	Release            FlexString `json:"release"`
	Patch              FlexString `json:"patch"`
	LatestAgentVersion FlexString `json:"latestAgentVersion"`
}

// SystemInfo calls GET /system/info (authenticated). It is the cheapest
// credential check: a bad token yields an error for which IsAuth is true.
func (c *Client) SystemInfo(ctx context.Context) (*SystemInfo, error) {
	var info SystemInfo
	if err := c.Get(ctx, "/system/info", nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// TokenDetails holds the API token's lifetime. ExpiresAt is zero when the
// console does not report an expiry.
type TokenDetails struct {
	CreatedAt, ExpiresAt time.Time
}

// TokenDetails calls POST /users/api-token-details with {"data":{"apiToken":<token>}},
// the only non-GET request this client can send.
func (c *Client) TokenDetails(ctx context.Context) (*TokenDetails, error) {
	body, err := json.Marshal(map[string]any{"data": map[string]string{"apiToken": c.token}})
	if err != nil {
		return nil, err
	}
	var data struct {
		CreatedAt FlexTime `json:"createdAt"`
		ExpiresAt FlexTime `json:"expiresAt"`
	}
	if err := c.getData(ctx, request{method: http.MethodPost, path: tokenDetailsPath, body: body}, &data); err != nil {
		return nil, err
	}
	return &TokenDetails{CreatedAt: data.CreatedAt.Time, ExpiresAt: data.ExpiresAt.Time}, nil
}

// ExpiresIn returns the time left before the token expires relative to now, or
// a negative duration if already expired; ok is false when no expiry is known.
func (t *TokenDetails) ExpiresIn(now time.Time) (d time.Duration, ok bool) {
	if t == nil || t.ExpiresAt.IsZero() {
		return 0, false
	}
	return t.ExpiresAt.Sub(now), true
}
