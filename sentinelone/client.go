// Package sentinelone is a read-only client for the SentinelOne Management
// Console REST API v2.1 (/web/api/v2.1). It only ever sends GET requests, plus
// the single POST /users/api-token-details used to read the token's expiry.
//
// The client does not retry: callers (Temporal activities) decide, using
// IsRetryable, IsRateLimited/RetryAfter, IsAuth, IsPermission, IsInvalidCursor.
package sentinelone

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	apiPrefix        = "/web/api/v2.1"
	tokenDetailsPath = "/users/api-token-details"
	defaultTimeout   = 60 * time.Second
	defaultUA        = "s1conn-sentinelone-client/1"
	maxBodyBytes     = 256 << 20 // a 1000-item page of agents is a few MB
	snippetLen       = 200
)

// Options configures a Client.
type Options struct {
	ConsoleURL        string        // normalised by New (see NormalizeConsoleURL)
	Token             string        // never logged, never in error strings; an "ApiToken " prefix is stripped
	AllowInsecureHTTP bool          // permit http:// console URLs (local simulators only)
	CAFile            string        // PEM file added to the system pool (error if unreadable/no certs)
	CAPEM             []byte        // alternative (or addition) to CAFile
	Timeout           time.Duration // per request including body read; default 60s
	RateLimits        []RateLimit   // nil → DefaultRateLimits(); NoRateLimits() disables
	// Limiters, when set, are the buckets to use instead of new ones built from RateLimits:
	// clients that share them share the token's budget (NewLimiters).
	Limiters  *Limiters
	UserAgent string
	// OnRequest is called after every request that reached the transport, with
	// the path relative to /web/api/v2.1 (no query), the HTTP status (0 when no
	// response was received) and the duration. Optional; must be goroutine-safe.
	OnRequest func(method, path string, status int, d time.Duration)

	// transport overrides the base RoundTripper (tests only).
	transport http.RoundTripper
}

// String redacts the token so Options can be logged safely.
func (o Options) String() string {
	return fmt.Sprintf("sentinelone.Options{ConsoleURL:%q, Token:%s, AllowInsecureHTTP:%t, CAFile:%q, CAPEM:%d bytes, Timeout:%s, RateLimits:%d, UserAgent:%q}",
		o.ConsoleURL, redactedIfSet(o.Token), o.AllowInsecureHTTP, o.CAFile, len(o.CAPEM), o.Timeout, len(o.RateLimits), o.UserAgent)
}

// GoString redacts the token for %#v.
func (o Options) GoString() string { return o.String() }

// MarshalJSON redacts the token so structured loggers cannot leak it.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"consoleURL": o.ConsoleURL, "token": redactedIfSet(o.Token), "allowInsecureHTTP": o.AllowInsecureHTTP,
		"caFile": o.CAFile, "timeout": o.Timeout.String(), "userAgent": o.UserAgent,
	})
}

func redactedIfSet(s string) string {
	if s == "" {
		return "<empty>"
	}
	return "[REDACTED]"
}

// Client is a SentinelOne API client. It is safe for concurrent use; rate-limit
// buckets are shared by all goroutines using the same Client.
type Client struct {
	base      string // https://host[:port]
	token     string
	hc        *http.Client
	limits    *Limiters
	ua        string
	timeout   time.Duration
	onRequest func(method, path string, status int, d time.Duration)
}

func limitersFor(opts Options) *Limiters {
	if opts.Limiters != nil {
		return opts.Limiters
	}
	return NewLimiters(opts.RateLimits)
}

// String never includes the token.
func (c *Client) String() string { return "sentinelone.Client{" + c.base + "}" }

// GoString never includes the token.
func (c *Client) GoString() string { return c.String() }

// New validates opts and builds a Client. It does not contact the console; use
// SystemStatus / SystemInfo / TokenDetails for connectivity and credential checks.
func New(opts Options) (*Client, error) {
	base, err := NormalizeConsoleURL(opts.ConsoleURL, opts.AllowInsecureHTTP)
	if err != nil {
		return nil, fmt.Errorf("sentinelone: %w", err)
	}
	token := strings.TrimSpace(opts.Token)
	if len(token) >= 8 && strings.EqualFold(token[:8], "apitoken") && (len(token) == 8 || token[8] == ' ') {
		token = strings.TrimSpace(token[8:]) // tolerate a pasted "ApiToken <token>" header value
	}
	if token == "" {
		return nil, errors.New("sentinelone: API token is empty: create an API token for a service user in the console (Settings > Users > Service Users) and configure it")
	}
	for _, r := range token {
		if r <= ' ' || r == 0x7f || r > '~' {
			return nil, errors.New("sentinelone: API token contains whitespace, control or non-ASCII characters: paste the token exactly as shown by the console")
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	rt := opts.transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		tr.MaxIdleConnsPerHost = 16
		tr.ResponseHeaderTimeout = timeout
		if opts.CAFile != "" || len(opts.CAPEM) > 0 {
			pool, err := loadCAs(opts.CAFile, opts.CAPEM)
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		rt = tr
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = defaultUA
	}
	c := &Client{
		base:  base,
		token: token,
		hc: &http.Client{
			Transport: &readOnlyTransport{next: rt},
			// Never follow redirects: a redirect means a wrong URL (SSO/login page),
			// and following could send the token or a POST elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		limits:    limitersFor(opts),
		ua:        ua,
		timeout:   timeout,
		onRequest: opts.OnRequest,
	}
	return c, nil
}

func loadCAs(file string, pemData []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("sentinelone: cannot read CA file %q: %w: check the path and file permissions", file, err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("sentinelone: CA file %q contains no PEM certificates: it must contain one or more \"-----BEGIN CERTIFICATE-----\" blocks", file)
		}
	}
	if len(pemData) > 0 && !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("sentinelone: CA PEM data contains no certificates: it must contain one or more \"-----BEGIN CERTIFICATE-----\" blocks")
	}
	return pool, nil
}

// BaseURL returns the normalised console URL, e.g. "https://usea1-partners.sentinelone.net".
func (c *Client) BaseURL() string { return c.base }

// readOnlyTransport is the single enforcement point for the read-only policy:
// every request of this client passes through it, and anything other than GET
// (or the POST to /users/api-token-details) is refused before reaching the network.
type readOnlyTransport struct{ next http.RoundTripper }

func (t *readOnlyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !methodAllowed(req.Method, req.URL.Path) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w (refused %s %s)", ErrMethodNotAllowed, req.Method, req.URL.Path)
	}
	return t.next.RoundTrip(req)
}

func methodAllowed(method, urlPath string) bool {
	switch method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		return urlPath == apiPrefix+tokenDetailsPath
	default:
		return false
	}
}

type request struct {
	method string
	path   string // relative to /web/api/v2.1
	params url.Values
	body   []byte
	noAuth bool
}

// do is the single place where HTTP requests are built and sent. It returns the
// body of a 2xx response; everything else becomes *APIError, *TransportError,
// *DecodeError, or a wrapped context error.
func (c *Client) do(ctx context.Context, r request) ([]byte, int, error) {
	path, err := cleanPath(r.path)
	if err != nil {
		return nil, 0, err
	}
	if !methodAllowed(r.method, apiPrefix+path) {
		return nil, 0, fmt.Errorf("sentinelone: %w (refused %s %s)", ErrMethodNotAllowed, r.method, path)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("sentinelone: %s %s: %w", r.method, path, err)
	}
	if lim := c.limits.forPath(path); lim != nil {
		if err := lim.Wait(ctx); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, 0, fmt.Errorf("sentinelone: %s %s: waiting for the client-side rate limit: %w", r.method, path, ctxErr)
			}
			return nil, 0, fmt.Errorf("sentinelone: %s %s: the client-side rate limit for this endpoint leaves no time before the context deadline: %w", r.method, path, err)
		}
	}

	u := c.base + apiPrefix + path
	if len(r.params) > 0 {
		u += "?" + r.params.Encode()
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(rctx, r.method, u, body)
	if err != nil {
		return nil, 0, fmt.Errorf("sentinelone: %s %s: building request: %w", r.method, path, err)
	}
	if !r.noAuth {
		req.Header.Set("Authorization", "ApiToken "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	status := 0
	defer func() {
		if c.onRequest != nil {
			c.onRequest(r.method, path, status, time.Since(start))
		}
	}()

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, c.transportErr(ctx, rctx, r.method, path, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	c.limits.observe(path, status, start) // a 429 slows this path down; successes bring it back
	data, err := readBody(resp)
	if err != nil {
		return nil, status, c.transportErr(ctx, rctx, r.method, path, err)
	}
	if len(data) > maxBodyBytes {
		return nil, status, c.decodeErr(r.method, path, status, data, fmt.Errorf("body larger than %d bytes", maxBodyBytes), false)
	}
	if status < 200 || status > 299 {
		return nil, status, c.apiError(r.method, path, resp, data)
	}
	return data, status, nil
}

// readBody reads at most maxBodyBytes+1 bytes of resp's body. When the length is announced, the
// buffer is allocated once at that size: io.ReadAll grows a 6.5 MB page of threats from 512 bytes
// by repeated doubling, and an allocation profile of a threats backfill put io.ReadAll first, at
// 20 % of all bytes allocated (1.47 GB in 20 s). Bodies without a length (compressed or
// chunked) are read as before.
func readBody(resp *http.Response) ([]byte, error) {
	const maxPrealloc = 32 << 20 // 5× the largest real page (1,000 threats, 6.5 MB)
	r := io.LimitReader(resp.Body, maxBodyBytes+1)
	n := resp.ContentLength
	if n <= 0 || n > maxBodyBytes {
		return io.ReadAll(r)
	}
	// bytes.Buffer.ReadFrom keeps bytes.MinRead free before each read, including the last one
	// that sees EOF; with that slack it never grows. The header is not trusted beyond
	// maxPrealloc: a console announcing 256 MB gets memory only as the bytes arrive.
	buf := bytes.NewBuffer(make([]byte, 0, min(n, maxPrealloc)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func (c *Client) transportErr(parent, rctx context.Context, method, path string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("sentinelone: %s %s: %w", method, path, perr)
	}
	if errors.Is(err, ErrMethodNotAllowed) {
		return fmt.Errorf("sentinelone: %w", ErrMethodNotAllowed)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is already identified by method and path
	}
	timeout := errors.Is(rctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		timeout = true
	}
	if timeout && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no complete response within %s: %w", c.timeout, err)
	}
	return &TransportError{Method: method, Path: path, Timeout: timeout, Err: newRedactErr(err, c.token)}
}

// redactErr carries a wrapped error whose text has been scrubbed of the token
// and token-like strings (defence in depth: decode errors may quote response
// values). It stores the scrubbed message, never the token.
type redactErr struct {
	msg string
	err error
}

func newRedactErr(err error, token string) redactErr {
	return redactErr{msg: sanitize(err.Error(), token, 1000), err: err}
}

func (r redactErr) Error() string { return r.msg }
func (r redactErr) Unwrap() error { return r.err }

// errorBody is the {"errors":[{code,title,detail,params}]} envelope.
type errorEntry struct {
	Code   FlexInt    `json:"code"`
	Title  FlexString `json:"title"`
	Detail FlexString `json:"detail"`
}

// decodeErrors tolerantly decodes "errors": an array, a single object, or null.
// It returns the non-empty entries.
func decodeErrors(raw json.RawMessage) []errorEntry {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, jsonNull) {
		return nil
	}
	var list []json.RawMessage
	if raw[0] == '{' {
		list = []json.RawMessage{raw}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil
	}
	var out []errorEntry
	for _, item := range list {
		var e errorEntry
		if json.Unmarshal(item, &e) != nil {
			continue
		}
		if e.Code != 0 || e.Title != "" || e.Detail != "" {
			out = append(out, e)
		}
	}
	return out
}

func (c *Client) apiError(method, path string, resp *http.Response, body []byte) *APIError {
	ae := &APIError{Status: resp.StatusCode, Method: method, Path: path}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		ae.RetryAfter = parseRetryAfter(ra, time.Now())
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.String() != "" {
			loc.RawQuery, loc.Fragment, loc.User = "", "", nil
			ae.Location = sanitize(loc.String(), c.token, snippetLen)
		}
	}
	var env struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		if errs := decodeErrors(env.Errors); len(errs) > 0 {
			ae.Code = int(errs[0].Code)
			ae.Title = sanitize(string(errs[0].Title), c.token, snippetLen)
			ae.Detail = sanitize(string(errs[0].Detail), c.token, snippetLen)
			return ae
		}
	}
	if s := strings.TrimSpace(string(body)); s != "" {
		ae.Detail = "unexpected body: " + sanitize(s, c.token, snippetLen)
	}
	return ae
}

// parseRetryAfter accepts delta-seconds or an HTTP date; returns 0 if invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 86400*7 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// cleanPath validates a caller-supplied path and returns it relative to /web/api/v2.1.
func cleanPath(p string) (string, error) {
	p = strings.TrimPrefix(p, apiPrefix)
	if p == "" || p[0] != '/' {
		return "", fmt.Errorf("sentinelone: invalid API path %q: it must start with '/' and be relative to %s, e.g. \"/agents\"", p, apiPrefix)
	}
	if strings.ContainsAny(p, "?#\\ ") || strings.Contains(p, "..") || strings.Contains(p, "//") {
		return "", fmt.Errorf("sentinelone: invalid API path %q: pass query parameters via params, not in the path", p)
	}
	return p, nil
}

func (c *Client) decodeErr(method, path string, status int, body []byte, err error, retryable bool) *DecodeError {
	return &DecodeError{Method: method, Path: path, Status: status,
		Snippet: sanitize(string(body), c.token, snippetLen), Err: newRedactErr(err, c.token), retryable: retryable}
}
