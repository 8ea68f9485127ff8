package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a manually advanced clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// call performs a request directly against ServeHTTP.
func call(t testing.TB, s *Simulator, method, path string, q url.Values, token string) *httptest.ResponseRecorder {
	t.Helper()
	u := APIPrefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req := httptest.NewRequest(method, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "ApiToken "+token)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func get(t testing.TB, s *Simulator, path string, q url.Values) *httptest.ResponseRecorder {
	return call(t, s, http.MethodGet, path, q, DefaultToken)
}

type page struct {
	Data       []json.RawMessage `json:"data"`
	Pagination struct {
		NextCursor *string `json:"nextCursor"`
		TotalItems int     `json:"totalItems"`
	} `json:"pagination"`
}

func decodePage(t testing.TB, rec *httptest.ResponseRecorder) page {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var p page
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	return p
}

// walked is one item seen during a walk.
type walked struct {
	ID, UpdatedAt, CreatedAt, SiteID, GroupID, AccountID string
	IsDecommissioned                                     bool
	Hash                                                 string
}

// walk follows cursors to the end. With resend the filters are sent on
// every page (Elastic style); otherwise later pages send only cursor+limit.
func walk(t testing.TB, s *Simulator, path string, q url.Values, resend bool) ([]walked, int) {
	t.Helper()
	var out []walked
	first := url.Values{}
	for k, v := range q {
		first[k] = v
	}
	cur := first
	pages := 0
	for {
		p := decodePage(t, get(t, s, path, cur))
		pages++
		for _, raw := range p.Data {
			var a walked
			require.NoError(t, json.Unmarshal(raw, &a))
			sum := sha256.Sum256(raw)
			a.Hash = hex.EncodeToString(sum[:])
			out = append(out, a)
		}
		if p.Pagination.NextCursor == nil {
			return out, pages
		}
		require.NotEmpty(t, p.Data, "a non-final page must not be empty")
		next := url.Values{"cursor": {*p.Pagination.NextCursor}, "limit": {first.Get("limit")}}
		if resend {
			for k, v := range first {
				if k != "limit" && k != "cursor" {
					next[k] = v
				}
			}
		}
		cur = next
		require.Less(t, pages, 100000)
	}
}

func errDetail(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Errors []struct {
			Code   int    `json:"code"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
	require.Len(t, e.Errors, 1)
	return e.Errors[0].Detail
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
