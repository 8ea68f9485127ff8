package sentinelone

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIErrorsFromRealBodies(t *testing.T) {
	type preds struct{ auth, perm, valid, cursor, rate, server, retry bool }
	tests := []struct {
		name       string
		path       string
		status     int
		body       string
		header     map[string]string
		wantCode   int
		wantTitle  string
		wantDetail string
		wantRA     time.Duration
		preds      preds
		msgHas     []string
	}{
		{name: "401 real", path: "/agents", status: 401, body: body401, wantCode: 4010010, wantTitle: "Authentication Failed",
			preds: preds{auth: true}, msgHas: []string{"invalid, revoked or expired", "Service Users", "rotate", "GET /agents", "HTTP 401"}},
		{name: "403 real agents", path: "/agents", status: 403, body: body403, wantCode: 4030010, wantTitle: "Insufficient permissions",
			wantDetail: "User does not have required permissions", preds: preds{perm: true}, msgHas: []string{"Endpoints.view"}},
		{name: "403 threats", path: "/threats", status: 403, body: body403, wantCode: 4030010, wantTitle: "Insufficient permissions",
			wantDetail: "User does not have required permissions", preds: preds{perm: true}, msgHas: []string{"Threats.view"}},
		{name: "403 alerts", path: "/cloud-detection/alerts", status: 403, body: body403, wantCode: 4030010, wantTitle: "Insufficient permissions",
			wantDetail: "User does not have required permissions", preds: preds{perm: true}, msgHas: []string{"Custom Alerts.view"}},
		{name: "403 mock accounts", path: "/accounts", status: 403, body: body403Mock, wantCode: 4030010, wantTitle: "Insufficient Permissions",
			wantDetail: "You do not have permission to perform this action.", preds: preds{perm: true}, msgHas: []string{"Accounts.view"}},
		{name: "403 risks", path: "/application-management/risks", status: 403, body: body403, wantCode: 4030010, wantTitle: "Insufficient permissions",
			wantDetail: "User does not have required permissions", preds: preds{perm: true}, msgHas: []string{"Applications Page.viewRisks"}},
		{name: "403 xdr", path: "/xdr/assets", status: 403, body: body403, wantCode: 4030010, wantTitle: "Insufficient permissions",
			wantDetail: "User does not have required permissions", preds: preds{perm: true}, msgHas: []string{"XDR Inventory.view"}},
		{name: "400 invalid cursor", path: "/threats", status: 400, body: body400Cursor, wantCode: 4000010, wantTitle: "Validation JSONError",
			wantDetail: "Invalid cursor value received", preds: preds{valid: true, cursor: true}, msgHas: []string{"cursor", "watermark"}},
		{name: "400 bad ids", path: "/agents", status: 400, body: body400IDs, wantCode: 4000010, wantTitle: "Validation Error",
			wantDetail: "siteIds: 0: Must be greater than or equal to 100000000000000000.", preds: preds{valid: true}, msgHas: []string{"filters"}},
		{name: "400 no title", path: "/accounts", status: 400, body: body400NoTitle, wantCode: 4000010,
			wantDetail: "Limit must be greater than or equals to 1 and less than equals to 100000", preds: preds{valid: true}},
		{name: "429 with Retry-After", path: "/agents", status: 429, body: body429, header: map[string]string{"Retry-After": "7"},
			wantCode: 4290010, wantTitle: "Too Many Requests", wantDetail: "Too many requests", wantRA: 7 * time.Second,
			preds: preds{rate: true, retry: true}, msgHas: []string{"retry after 7s"}},
		{name: "429 without Retry-After", path: "/agents", status: 429, body: body429,
			wantCode: 4290010, wantTitle: "Too Many Requests", wantDetail: "Too many requests",
			preds: preds{rate: true, retry: true}, msgHas: []string{"backoff"}},
		{name: "429 empty body bad header", path: "/agents", status: 429, body: "", header: map[string]string{"Retry-After": "soon"},
			preds: preds{rate: true, retry: true}},
		{name: "500 real", path: "/threats", status: 500, body: body500, wantCode: 5000010, wantTitle: "Internal server error",
			wantDetail: "Server could not process the request.", preds: preds{server: true, retry: true}, msgHas: []string{"transient"}},
		{name: "503 mock", path: "/agents", status: 503, body: body503, header: map[string]string{"Retry-After": "2"}, wantCode: 5030010,
			wantTitle: "Service Unavailable", wantDetail: "Service is temporarily unavailable.", wantRA: 2 * time.Second,
			preds: preds{server: true, retry: true}},
		{name: "502 html from proxy", path: "/agents", status: 502, body: "<html><body>Bad Gateway</body></html>",
			wantDetail: "unexpected body: <html><body>Bad Gateway</body></html>", preds: preds{server: true, retry: true}},
		{name: "404", path: "/nope", status: 404, body: `{"errors":[{"code":4040010,"detail":null,"title":"Not Found"}]}`, wantCode: 4040010,
			wantTitle: "Not Found", msgHas: []string{"console URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				writeJSON(w, tc.status, tc.body)
			})
			c := newTestClient(t, srv)
			_, err := c.List(context.Background(), tc.path, nil)
			require.Error(t, err)
			var ae *APIError
			require.True(t, errors.As(err, &ae), "want *APIError, got %T: %v", err, err)
			assert.Equal(t, tc.status, ae.Status)
			assert.Equal(t, tc.wantCode, ae.Code)
			assert.Equal(t, tc.wantTitle, ae.Title)
			assert.Equal(t, tc.wantDetail, ae.Detail)
			assert.Equal(t, http.MethodGet, ae.Method)
			assert.Equal(t, tc.path, ae.Path)
			assert.Equal(t, tc.wantRA, ae.RetryAfter)
			assert.Equal(t, tc.wantRA, RetryAfter(err))
			assert.Equal(t, tc.preds.auth, IsAuth(err), "IsAuth")
			assert.Equal(t, tc.preds.perm, IsPermission(err), "IsPermission")
			assert.Equal(t, tc.preds.valid, IsValidation(err), "IsValidation")
			assert.Equal(t, tc.preds.cursor, IsInvalidCursor(err), "IsInvalidCursor")
			assert.Equal(t, tc.preds.rate, IsRateLimited(err), "IsRateLimited")
			assert.Equal(t, tc.preds.server, IsServer(err), "IsServer")
			assert.Equal(t, tc.preds.retry, IsRetryable(err), "IsRetryable")
			assert.False(t, IsTransport(err))
			for _, s := range tc.msgHas {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestPredicatesOnOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.Canceled, ErrRepeatedCursor} {
		assert.False(t, IsAuth(err) || IsPermission(err) || IsValidation(err) || IsRateLimited(err) ||
			IsServer(err) || IsInvalidCursor(err) || IsRetryable(err) || IsTransport(err), "%v", err)
	}
	// Wrapped APIErrors are still recognised.
	wrapped := fmt.Errorf("activity: %w", &APIError{Status: 401})
	assert.True(t, IsAuth(wrapped))
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 5*time.Second, parseRetryAfter("5", now))
	assert.Equal(t, 1500*time.Millisecond, parseRetryAfter("1.5", now))
	assert.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
	assert.Zero(t, parseRetryAfter("-1", now))
	assert.Zero(t, parseRetryAfter("abc", now))
	assert.Zero(t, parseRetryAfter("", now))
}

func TestRequiredPermission(t *testing.T) {
	tests := map[string]string{
		"/agents":                           "Endpoints.view",
		"/agents/count":                     "Endpoints.view",
		"/web/api/v2.1/agents":              "Endpoints.view",
		"/threats":                          "Threats.view",
		"/threats/123/timeline":             "Threats.view",
		"/cloud-detection/alerts":           "Custom Alerts.view",
		"/accounts":                         "Accounts.view",
		"/sites":                            "Sites.view",
		"/activities":                       "Activity Page.view",
		"/application-management/risks":     "Applications Page.viewRisks",
		"/application-management/inventory": "Applications Page.view",
		"/xdr/assets":                       "XDR Inventory.view",
		"/system/info":                      "",
		"/agentsX":                          "",
		"/agents?limit=1":                   "Endpoints.view",
	}
	for in, want := range tests {
		assert.Equal(t, want, RequiredPermission(in), in)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, mustNot string }{
		{`{"apiToken":"` + testToken + `"}`, testToken},
		{`Authorization: ApiToken shortish-token-value-1234`, "shortish-token-value-1234"},
		{`token=abcdef0123456789&x=1`, "abcdef0123456789"},
		{`Bearer abcdefghijklmnop1234`, "abcdefghijklmnop1234"},
		{`blob ` + strings.Repeat("Ab0", 20) + ` end`, strings.Repeat("Ab0", 20)},
		{`split across the literal token ` + testToken[:40], testToken[:40]},
		{`cannot parse "` + testToken[50:64] + `..."`, testToken[50:64]},
		{`cannot parse "[REDACTED].` + testToken[49:63] + `..."`, testToken[49:63]},
	}
	for _, tc := range tests {
		got := sanitize(tc.in, testToken, 200)
		assert.NotContains(t, got, tc.mustNot, tc.in)
	}
	assert.Equal(t, "siteIds: 0: Must be >= 100000000000000000.", sanitize("siteIds: 0: Must be >= 100000000000000000.", testToken, 200))
	assert.Equal(t, "token expired", sanitize("token expired", testToken, 200))
	assert.Equal(t, "a b", sanitize("a\nb", "", 200))
	assert.Equal(t, "abc...", sanitize("abcdef", "", 3))
}
