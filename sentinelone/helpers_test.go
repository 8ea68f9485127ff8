package sentinelone

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// testToken looks like a real console token (JWT-ish) so redaction heuristics are exercised.
const testToken = "eyJraWQiOiJ0b2tlblNpZ25pbmciLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzZXJ2aWNldXNlckBleGFtcGxlLmNvbSJ9.S3CR3T-sig_abcdef0123456789"

// Real / fixture bodies from the reference doc §2.2.
const (
	body401          = `{"errors":[{"code":4010010,"detail":null,"title":"Authentication Failed"}]}`
	body403          = `{"errors":[{"code":4030010,"detail":"User does not have required permissions","title":"Insufficient permissions"}]}`
	body403Mock      = `{"errors":[{"code":4030010,"detail":"You do not have permission to perform this action.","title":"Insufficient Permissions"}]}`
	body400Cursor    = `{"errors":[{"code":4000010,"detail":"Invalid cursor value received","title":"Validation JSONError"}]}`
	body400IDs       = `{"errors":[{"code":4000010,"detail":"siteIds: 0: Must be greater than or equal to 100000000000000000.","title":"Validation Error"}]}`
	body400NoTitle   = `{"errors":[{"code":4000010,"detail":"Limit must be greater than or equals to 1 and less than equals to 100000"}]}`
	body500          = `{"errors":[{"code":5000010,"detail":"Server could not process the request.","title":"Internal server error"}]}`
	body503          = `{"errors":[{"code":5030010,"detail":"Service is temporarily unavailable.","title":"Service Unavailable"}],"data":null,"pagination":null}`
	body429          = `{"errors":[{"code":4290010,"detail":"Too many requests","title":"Too Many Requests"}]}`
	bodySystemStatus = `{"data":{"health":"ok"}}`
	bodySystemInfo   = `{"data":{"build":"30","version":"Z SP4","release":"Z","patch":"4","latestAgentVersion":"24.1.2.6"}}`
)

// recorder is a goroutine-safe log of requests received by a test server.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         string
}

func (r *recorder) add(req *http.Request, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header.Clone(), Body: body})
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// newServer starts an httptest server whose handler is h, recording every request.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		if r.Body != nil {
			b, _ = readAllLimit(r)
		}
		rec.add(r, string(b))
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func readAllLimit(r *http.Request) ([]byte, error) {
	buf := make([]byte, 0, 512)
	tmp := make([]byte, 512)
	for {
		n, err := r.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil || len(buf) > 1<<20 {
			return buf, nil
		}
	}
}

// newTestClient builds a client for srv with rate limiting disabled.
func newTestClient(t *testing.T, srv *httptest.Server, mod ...func(*Options)) *Client {
	t.Helper()
	opts := Options{ConsoleURL: srv.URL, Token: testToken, AllowInsecureHTTP: true, RateLimits: NoRateLimits()}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	require.NoError(t, err)
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
