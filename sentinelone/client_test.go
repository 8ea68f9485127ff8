package sentinelone

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		errHas string
	}{
		{"empty token", Options{ConsoleURL: "x.sentinelone.net"}, "token is empty"},
		{"whitespace token", Options{ConsoleURL: "x.sentinelone.net", Token: "ApiToken "}, "token is empty"},
		{"token with newline inside", Options{ConsoleURL: "x.sentinelone.net", Token: "abc\ndef"}, "whitespace"},
		{"bad url", Options{ConsoleURL: "http://x.sentinelone.net", Token: "t"}, "http://"},
		{"missing CA file", Options{ConsoleURL: "x.sentinelone.net", Token: "t", CAFile: "/nonexistent/ca.pem"}, "cannot read CA file"},
		{"CA PEM without certs", Options{ConsoleURL: "x.sentinelone.net", Token: "t", CAPEM: []byte("not a cert")}, "no certificates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.errHas)
		})
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("# nothing\n"), 0o600))
	_, err := New(Options{ConsoleURL: "x.sentinelone.net", Token: "t", CAFile: empty})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no PEM certificates")

	c, err := New(Options{ConsoleURL: "https://X.sentinelone.net/web/api/v2.1/", Token: "ApiToken abc"})
	require.NoError(t, err)
	assert.Equal(t, "https://x.sentinelone.net", c.BaseURL())
	assert.Equal(t, "abc", c.token, "ApiToken prefix is stripped")
	assert.Equal(t, defaultTimeout, c.timeout)
}

func TestRequestHeadersAndHook(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[],"pagination":{"nextCursor":null,"totalItems":0}}`)
	})
	var mu sync.Mutex
	var calls []string
	c := newTestClient(t, srv, func(o *Options) {
		o.UserAgent = "s1conn-test/1"
		o.OnRequest = func(method, path string, status int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, fmt.Sprintf("%s %s %d", method, path, status))
			assert.GreaterOrEqual(t, d, time.Duration(0))
		}
	})
	_, err := c.List(context.Background(), "/agents", nil)
	require.NoError(t, err)
	reqs := rec.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, "ApiToken "+testToken, reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "application/json", reqs[0].Header.Get("Accept"))
	assert.Equal(t, "s1conn-test/1", reqs[0].Header.Get("User-Agent"))
	assert.Equal(t, "/web/api/v2.1/agents", reqs[0].Path)
	assert.Equal(t, []string{"GET /agents 200"}, calls)
}

// GET-only enforcement: any other method is refused before the network.
func TestReadOnlyEnforcement(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":{}}`)
	})
	c := newTestClient(t, srv)
	ctx := context.Background()

	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions, "PURGE"} {
		t.Run("do "+m, func(t *testing.T) {
			_, _, err := c.do(ctx, request{method: m, path: "/agents/actions/decommission", body: []byte(`{}`)})
			require.ErrorIs(t, err, ErrMethodNotAllowed)
		})
		t.Run("transport "+m, func(t *testing.T) {
			// Bypass do() entirely: the client's http.Client still refuses.
			req, err := http.NewRequestWithContext(ctx, m, srv.URL+"/web/api/v2.1/agents/actions/decommission", strings.NewReader("{}"))
			require.NoError(t, err)
			resp, err := c.hc.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			require.ErrorIs(t, err, ErrMethodNotAllowed)
		})
	}
	// POST is allowed only for /users/api-token-details, exact path.
	for _, p := range []string{"/users/api-token-details/", "/users/api-token-details/x", "/users/login", "/users"} {
		_, _, err := c.do(ctx, request{method: http.MethodPost, path: p, body: []byte(`{}`)})
		require.ErrorIs(t, err, ErrMethodNotAllowed, p)
	}
	assert.Equal(t, 0, rec.count(), "no refused request may reach the server")

	// Unit-level: the RoundTripper never calls the next transport for refused methods.
	var hits atomic.Int32
	rt := &readOnlyTransport{next: roundTripFunc(func(*http.Request) (*http.Response, error) {
		hits.Add(1)
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodPost} {
		req, _ := http.NewRequest(m, "https://x.sentinelone.net/web/api/v2.1/agents", nil)
		_, err := rt.RoundTrip(req)
		require.ErrorIs(t, err, ErrMethodNotAllowed)
	}
	assert.Zero(t, hits.Load())
	req, _ := http.NewRequest(http.MethodPost, "https://x.sentinelone.net/web/api/v2.1/users/api-token-details", nil)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, "https://x.sentinelone.net/web/api/v2.1/agents", nil)
	resp, err = rt.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 2, hits.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestInvalidPaths(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"data":[]}`) })
	c := newTestClient(t, srv)
	for _, p := range []string{"", "agents", "/agents?limit=5", "/../admin", "/a b", "//evil.example/x"} {
		_, err := c.List(context.Background(), p, nil)
		require.Error(t, err, p)
	}
	assert.Zero(t, rec.count())
	// The full API prefix is tolerated.
	_, err := c.List(context.Background(), "/web/api/v2.1/agents", nil)
	require.NoError(t, err)
	assert.Equal(t, "/web/api/v2.1/agents", rec.all()[0].Path)
}

func TestSystemEndpoints(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/web/api/v2.1/system/status":
			writeJSON(w, 200, bodySystemStatus)
		case "/web/api/v2.1/system/info":
			if r.Header.Get("Authorization") != "ApiToken "+testToken {
				writeJSON(w, 401, body401)
				return
			}
			writeJSON(w, 200, bodySystemInfo)
		case "/web/api/v2.1/users/api-token-details":
			writeJSON(w, 200, `{"data":{"createdAt":"2025-01-01T00:00:00.123456Z","expiresAt":"2026-01-01T00:00:00Z"}}`)
		default:
			writeJSON(w, 404, `{"errors":[{"code":4040010,"title":"Not Found"}]}`)
		}
	})
	c := newTestClient(t, srv)
	ctx := context.Background()

	require.NoError(t, c.SystemStatus(ctx))
	info, err := c.SystemInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, SystemInfo{Build: "30", Version: "Z SP4", Release: "Z", Patch: "4", LatestAgentVersion: "24.1.2.6"}, *info)

	td, err := c.TokenDetails(ctx)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 123456000, time.UTC), td.CreatedAt)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), td.ExpiresAt)
	left, ok := td.ExpiresIn(time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	assert.True(t, ok)
	assert.Equal(t, 24*time.Hour, left)

	reqs := rec.all()
	require.Len(t, reqs, 3)
	assert.Empty(t, reqs[0].Header.Get("Authorization"), "system/status needs no auth")
	assert.Equal(t, http.MethodPost, reqs[2].Method)
	assert.Equal(t, "application/json", reqs[2].Header.Get("Content-Type"))
	assert.JSONEq(t, `{"data":{"apiToken":"`+testToken+`"}}`, reqs[2].Body)

	// Bad credentials on SystemInfo → IsAuth.
	bad, err := New(Options{ConsoleURL: srv.URL, Token: "wrong", AllowInsecureHTTP: true, RateLimits: NoRateLimits()})
	require.NoError(t, err)
	_, err = bad.SystemInfo(ctx)
	assert.True(t, IsAuth(err), "%v", err)
}

func TestSystemStatusUnhealthyAndMissingData(t *testing.T) {
	for _, body := range []string{`{"data":{"health":"degraded"}}`, `{"data":null}`, `{}`} {
		srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) })
		c := newTestClient(t, srv)
		assert.Error(t, c.SystemStatus(context.Background()), body)
	}
}

// The token must never appear in any error string, even when the server echoes it.
func TestTokenNeverLeaks(t *testing.T) {
	echo := func(status int, tmpl string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "ApiToken ")
			if tok == "" { // POST body carries it
				tok = testToken
			}
			writeJSON(w, status, strings.ReplaceAll(tmpl, "TOKEN", tok))
		}
	}
	cases := []struct {
		name string
		h    http.HandlerFunc
		call func(c *Client) error
	}{
		{"401 echo in detail", echo(401, `{"errors":[{"code":4010010,"detail":"bad token TOKEN","title":"Authentication Failed"}]}`), nil},
		{"500 echo header", echo(500, `{"errors":[{"code":5000010,"detail":"Authorization: ApiToken TOKEN","title":"TOKEN"}]}`), nil},
		{"200 html echo", echo(200, `<html>debug: Authorization: ApiToken TOKEN</html>`), nil},
		{"200 truncated echo", echo(200, `{"data":[{"apiToken":"TOKEN"`), nil},
		{"502 text echo", echo(502, `upstream said TOKEN`), nil},
		{"200 errors entry echo", echo(200, `{"data":[],"errors":[{"code":1,"title":"x","detail":"TOKEN"}]}`), nil},
		{"token details echo", echo(200, `{"data":{"createdAt":"TOKEN"}}`), func(c *Client) error { _, err := c.TokenDetails(context.Background()); return err }},
		{"redirect echo", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://sso.example.com/login?token="+testToken, http.StatusFound)
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newServer(t, tc.h)
			c := newTestClient(t, srv)
			var err error
			if tc.call != nil {
				err = tc.call(c)
			} else {
				_, err = c.List(context.Background(), "/agents", nil)
			}
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, testToken)
			assertNoTokenFragment(t, msg)
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), testToken)
		})
	}

	// Transport errors do not include it either.
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c := newTestClient(t, srv)
	srv.Close()
	_, err := c.List(context.Background(), "/agents", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testToken)

	// Printing/logging the client or options never shows it.
	opts := Options{ConsoleURL: "x.sentinelone.net", Token: testToken}
	c2, err := New(opts)
	require.NoError(t, err)
	j, err := json.Marshal(opts)
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", opts), string(j),
		fmt.Sprint(c2), fmt.Sprintf("%+v", c2), fmt.Sprintf("%#v", c2)} {
		assert.NotContains(t, s, testToken)
		assert.NotContains(t, s, "S3CR3T")
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("connection refused is retryable", func(t *testing.T) {
		srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
		c := newTestClient(t, srv)
		srv.Close()
		_, err := c.List(context.Background(), "/agents", nil)
		require.Error(t, err)
		assert.True(t, IsTransport(err))
		assert.True(t, IsRetryable(err))
		assert.Contains(t, err.Error(), "GET /agents")
	})

	t.Run("per-request timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release)
		c := newTestClient(t, srv, func(o *Options) { o.Timeout = 50 * time.Millisecond })
		_, err := c.List(context.Background(), "/agents", nil)
		require.Error(t, err)
		var te *TransportError
		require.ErrorAs(t, err, &te)
		assert.True(t, te.Timeout)
		assert.True(t, IsRetryable(err))
		assert.Contains(t, err.Error(), "timed out")
	})

	t.Run("caller cancellation is not retryable", func(t *testing.T) {
		started := make(chan struct{})
		srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-r.Context().Done()
		})
		c := newTestClient(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		_, err := c.List(ctx, "/agents", nil)
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, IsRetryable(err))
		assert.False(t, IsTransport(err))
	})

	t.Run("already cancelled context never hits the network", func(t *testing.T) {
		srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
		c := newTestClient(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := c.Walk(ctx, "/agents", nil, "", func(*Page) error { return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, rec.count())
	})

	t.Run("connection dropped mid-body", func(t *testing.T) {
		srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"data":[{"id":"1"}`))
			hj, ok := w.(http.Hijacker)
			require.True(t, ok)
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		})
		c := newTestClient(t, srv)
		_, err := c.List(context.Background(), "/agents", nil)
		require.Error(t, err)
		assert.True(t, IsTransport(err), "%T %v", err, err)
		assert.True(t, IsRetryable(err))
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		writeJSON(w, 200, `{"data":[]}`)
	}))
	defer other.Close()
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/login?next=x", http.StatusFound)
	})
	c := newTestClient(t, srv)
	_, err := c.List(context.Background(), "/agents", nil)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusFound, ae.Status)
	assert.Equal(t, other.URL+"/login", ae.Location)
	assert.Contains(t, err.Error(), "console URL is probably wrong")
	assert.False(t, IsRetryable(err))
	assert.Zero(t, otherHits.Load())
}

func TestCustomCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, bodySystemStatus)
	}))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, caPEM, 0o600))
	ctx := context.Background()

	t.Run("untrusted without CA", func(t *testing.T) {
		c, err := New(Options{ConsoleURL: srv.URL, Token: testToken, RateLimits: NoRateLimits()})
		require.NoError(t, err)
		err = c.SystemStatus(ctx)
		require.Error(t, err)
		assert.True(t, IsTransport(err))
		assert.False(t, IsRetryable(err), "TLS trust failures are configuration errors")
		assert.Contains(t, err.Error(), "CA file")
	})
	t.Run("CAFile", func(t *testing.T) {
		c, err := New(Options{ConsoleURL: srv.URL, Token: testToken, CAFile: caFile, RateLimits: NoRateLimits()})
		require.NoError(t, err)
		require.NoError(t, c.SystemStatus(ctx))
	})
	t.Run("CAPEM", func(t *testing.T) {
		c, err := New(Options{ConsoleURL: srv.URL, Token: testToken, CAPEM: caPEM, RateLimits: NoRateLimits()})
		require.NoError(t, err)
		require.NoError(t, c.SystemStatus(ctx))
	})
}

func TestRateLimitTable(t *testing.T) {
	s := NewLimiters(nil)
	tests := []struct {
		path  string
		rate  float64 // 0 = unlimited (nil limiter)
		burst int
	}{
		{"/agents", 25, 1},
		{"/agents/count", 25, 1},
		{"/threats", 10, 50},
		{"/threats/123/timeline", 100, 1000},
		{"/application-management/inventory", 3, 1},
		{"/application-management/inventory/endpoints", 3, 1},
		{"/application-management/risks", 25, 1},
		{"/cloud-detection/alerts", 25, 1},
		{"/xdr/assets", 25, 1},
		{"/accounts", 100, 10},
		{"/sites", 100, 10},
		{"/users", 40, 80},
		{"/users/api-token-details", 40, 80},
		{"/users/login", 1, 1},
		{"/system/status", 2, 1},
		{"/system/info", 10, 10},
		{"/groups", 10, 10},
		{"/activities", 10, 30},
		{"/assets", 0, 0},
	}
	for _, tc := range tests {
		lim := s.forPath(tc.path)
		if tc.rate == 0 {
			assert.Nil(t, lim, tc.path)
			continue
		}
		require.NotNil(t, lim, tc.path)
		assert.InDelta(t, tc.rate*Headroom, float64(lim.Limit()), 1e-9, tc.path)
		assert.Equal(t, tc.burst, lim.Burst(), tc.path)
	}
	assert.Nil(t, NewLimiters(NoRateLimits()).forPath("/agents"))
}

// The limiter is consulted before each request and is shared by goroutines:
// with burst 3 and a rate of one token per hour, exactly 3 of 10 concurrent
// requests get through; the rest fail immediately because the wait would
// exceed their deadline (rate.Limiter.Wait does not sleep in that case).
func TestRateLimiterEnforcedAndShared(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[],"pagination":{"nextCursor":null}}`)
	})
	c := newTestClient(t, srv, func(o *Options) {
		o.RateLimits = []RateLimit{{Prefix: "/agents", PerSecond: 1.0 / 3600, Burst: 3}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var ok, limited atomic.Int32
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.List(ctx, "/agents", nil)
			if err == nil {
				ok.Add(1)
			} else if strings.Contains(err.Error(), "rate limit") {
				limited.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 3, ok.Load())
	assert.EqualValues(t, 7, limited.Load())
	assert.Equal(t, 3, rec.count())

	// Other prefixes have their own (here: no) bucket.
	_, err := c.List(ctx, "/threats", nil)
	require.NoError(t, err)
}

// With the default table, one /agents request (25/s, burst 1) empties the
// bucket: a reservation made right after must wait ~42ms (25/s × Headroom). Measured with a
// reservation, not a sleep.
func TestDefaultAgentsLimiterConsumed(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"data":[]}`) })
	c := newTestClient(t, srv, func(o *Options) { o.RateLimits = nil })
	lim := c.limits.forPath("/agents")
	require.NotNil(t, lim)
	now := time.Now()
	r0 := lim.ReserveN(now, 1)
	require.True(t, r0.OK())
	assert.Zero(t, r0.DelayFrom(now), "fresh bucket has a token")
	r0.CancelAt(now)

	_, err := c.List(context.Background(), "/agents", nil)
	require.NoError(t, err)
	now = time.Now()
	r := lim.ReserveN(now, 1)
	defer r.CancelAt(now)
	d := r.DelayFrom(now)
	assert.Greater(t, d, 20*time.Millisecond)
	assert.LessOrEqual(t, d, 43*time.Millisecond) // 1 s / (25 × Headroom) = 42.1 ms
}

func TestOnRequestStatusZeroOnTransportError(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	var got atomic.Int32
	got.Store(-1)
	c := newTestClient(t, srv, func(o *Options) {
		o.OnRequest = func(_, _ string, status int, _ time.Duration) { got.Store(int32(status)) }
	})
	srv.Close()
	_, _ = c.List(context.Background(), "/agents", nil)
	assert.EqualValues(t, 0, got.Load())
}

func TestDialErrorIsNetError(t *testing.T) {
	// A listener that is closed immediately gives a deterministic refused port.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	c, err := New(Options{ConsoleURL: "http://" + addr, Token: testToken, AllowInsecureHTTP: true, RateLimits: NoRateLimits()})
	require.NoError(t, err)
	err = c.SystemStatus(context.Background())
	var ne net.Error
	assert.True(t, errors.As(err, &ne) || IsTransport(err))
	assert.True(t, IsRetryable(err))
	assert.False(t, bytes.Contains([]byte(err.Error()), []byte(testToken)))
}

// assertNoTokenFragment fails if any 12-character window of testToken appears in s.
func assertNoTokenFragment(t *testing.T, s string) {
	t.Helper()
	for i := 0; i+12 <= len(testToken); i++ {
		if strings.Contains(s, testToken[i:i+12]) {
			t.Fatalf("token fragment %q leaked in %q", testToken[i:i+12], s)
		}
	}
}

// TestReadBodyAllocatesOnceForAnnouncedLength: a body with a Content-Length is read into one
// buffer of that size (plus bytes.MinRead), not grown by doubling; one without is read whole.
func TestReadBodyAllocatesOnceForAnnouncedLength(t *testing.T) {
	body := bytes.Repeat([]byte(`{"id":"1234567890"},`), 300_000) // 6 MB, like a page of threats
	for _, announced := range []bool{true, false} {
		resp := func() *http.Response {
			r := &http.Response{Body: io.NopCloser(bytes.NewReader(body)), ContentLength: -1}
			if announced {
				r.ContentLength = int64(len(body))
			}
			return r
		}
		got, err := readBody(resp())
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("announced=%v: %d bytes, err %v; want the %d-byte body", announced, len(got), err, len(body))
		}
		if !announced {
			continue
		}
		if c := cap(got); c != len(body)+bytes.MinRead {
			t.Fatalf("buffer capacity %d, want %d: it grew", c, len(body)+bytes.MinRead)
		}
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		if _, err := readBody(resp()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&ms1)
		if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > uint64(len(body))+64<<10 {
			t.Fatalf("reading a %d-byte body allocated %d bytes", len(body), alloc)
		}
	}
}

// A 429 slows the path by a fifth and caps it just below the rate that failed; successes
// bring it back step by step, and after 20 steps' worth without a 429 the cap goes too.
func TestLimitersBackOffOn429AndRecover(t *testing.T) {
	l := NewLimiters([]RateLimit{{Prefix: "/agents", PerSecond: 20, Burst: 1}})
	require.InDelta(t, 20, l.rate("/agents"), 1e-9)
	inFlight := time.Now()                // a request sent before the first cut, answered after it
	l.observe("/agents", 500, time.Now()) // not a rate-limit answer: no change
	require.InDelta(t, 20, l.rate("/agents"), 1e-9)
	l.observe("/agents", 429, time.Now())
	require.InDelta(t, 16, l.rate("/agents"), 1e-9) // ceiling 19
	l.observe("/agents", 429, time.Now())
	require.InDelta(t, 12.8, l.rate("/agents"), 1e-9) // ceiling 15.2
	l.observe("/agents", 429, inFlight)               // refused by the same overload: no second cut
	require.InDelta(t, 12.8, l.rate("/agents"), 1e-9, "a request sent before the last cut cut the rate again")
	for range recoverAfter - 1 {
		l.observe("/agents", 200, time.Now())
	}
	require.InDelta(t, 12.8, l.rate("/agents"), 1e-9, "a step takes recoverAfter successes")
	l.observe("/agents", 200, time.Now())
	require.InDelta(t, 13.8, l.rate("/agents"), 1e-9) // + 20/20
	for range 4 * recoverAfter {
		l.observe("/agents", 200, time.Now())
	}
	require.InDelta(t, 15.2, l.rate("/agents"), 1e-9, "capped just below the rate that failed")
	// 20 steps' worth of successes since the last 429 lift the cap (15 more steps here: 16.2),
	// and 4 more steps reach 20.
	for range 15*recoverAfter - 1 {
		l.observe("/agents", 200, time.Now())
	}
	require.InDelta(t, 15.2, l.rate("/agents"), 1e-9)
	for range 1 + 4*recoverAfter {
		l.observe("/agents", 200, time.Now())
	}
	require.InDelta(t, 20, l.rate("/agents"), 1e-9, "back to the configured rate once the pressure is gone")
	for range 30 {
		l.observe("/agents", 429, time.Now())
	}
	require.InDelta(t, 20.0/16, l.rate("/agents"), 1e-9, "never below a 16th of the configured rate")
	require.Zero(t, l.rate("/assets"), "unlimited paths stay unlimited")
	l.observe("/assets", 429, time.Now())
	require.Nil(t, l.forPath("/assets"))
}

// Clients built with the same Limiters share the buckets, and a 429 one of them gets slows
// the others down.
func TestSharedLimitersAcrossClients(t *testing.T) {
	var limited atomic.Bool
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if limited.Load() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"errors":[{"code":4290010,"detail":"Too many requests","title":"Too Many Requests"}]}`)
			return
		}
		writeJSON(w, 200, `{"data":[]}`)
	})
	shared := NewLimiters([]RateLimit{{Prefix: "/agents", PerSecond: 2, Burst: 1}})
	a := newTestClient(t, srv, func(o *Options) { o.Limiters = shared })
	b := newTestClient(t, srv, func(o *Options) { o.Limiters = shared })
	_, err := a.List(context.Background(), "/agents", nil)
	require.NoError(t, err)
	now := time.Now()
	r := b.limits.forPath("/agents").ReserveN(now, 1)
	assert.Greater(t, r.DelayFrom(now), time.Duration(0), "a's request took the token b would use")
	r.CancelAt(now)

	limited.Store(true)
	_, err = b.List(context.Background(), "/agents", nil)
	require.True(t, IsRateLimited(err), "%v", err)
	assert.InDelta(t, 1.6, a.limits.rate("/agents"), 1e-9, "b's 429 slowed a down too")
}

// An announced length is not trusted beyond maxPrealloc: a header claiming 200 MB does not
// allocate 200 MB before the bytes arrive.
func TestReadBodyCapsPreallocation(t *testing.T) {
	body := []byte(`{"data":[]}`)
	got, err := readBody(&http.Response{Body: io.NopCloser(bytes.NewReader(body)), ContentLength: 200 << 20})
	require.NoError(t, err)
	require.Equal(t, body, got)
	require.LessOrEqual(t, cap(got), 32<<20+bytes.MinRead)
}
