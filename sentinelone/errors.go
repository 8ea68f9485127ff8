package sentinelone

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// ErrRepeatedCursor is returned (wrapped) by Walk when the console hands back a
// nextCursor it already returned during the same walk, which would otherwise loop
// forever. Check with errors.Is.
var ErrRepeatedCursor = errors.New("the console returned a nextCursor that was already used in this walk (pagination loop); stopped to avoid fetching the same pages forever: restart the sync from its watermark without a cursor and report this to SentinelOne support if it persists")

// ErrMethodNotAllowed is returned when something tries to send a request other
// than GET (or the single permitted POST to /users/api-token-details). The
// connector is read-only by design; the request never reaches the network.
var ErrMethodNotAllowed = errors.New("the SentinelOne client is read-only: only GET requests (and POST /users/api-token-details) may be sent")

// APIError is a non-2xx response from the console (or a 2xx that carried a real
// entry in "errors"). Title and Detail come from the first entry of the
// {"errors":[{code,title,detail}]} body; when the body is not JSON, Title is the HTTP
// status text and Detail is a sanitised excerpt of the body.
type APIError struct {
	Status     int           // HTTP status
	Code       int           // SentinelOne error code, e.g. 4010010; 0 if absent
	Title      string        // e.g. "Authentication Failed"
	Detail     string        // e.g. "Invalid cursor value received"; may be empty
	Method     string        // HTTP method
	Path       string        // path relative to /web/api/v2.1, without query
	RetryAfter time.Duration // parsed Retry-After header; 0 if absent or unparseable
	// Location is the redirect target (without query) for 3xx responses.
	Location string
}

// Error describes what failed, why, and what to do about it. It never contains
// the API token.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sentinelone: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if st := http.StatusText(e.Status); st != "" {
		b.WriteString(" " + st)
	}
	if e.Code != 0 || e.Title != "" || e.Detail != "" {
		b.WriteString(" (")
		parts := []string{}
		if e.Code != 0 {
			parts = append(parts, fmt.Sprintf("code %d", e.Code))
		}
		if e.Title != "" {
			parts = append(parts, e.Title)
		}
		if e.Detail != "" {
			parts = append(parts, e.Detail)
		}
		b.WriteString(strings.Join(parts, ": "))
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.advice())
	return b.String()
}

func (e *APIError) advice() string {
	switch {
	case e.Status == http.StatusUnauthorized:
		return "the API token is invalid, revoked or expired: create a new token in the console (Settings > Users > Service Users) and rotate it in the connector configuration"
	case e.Status == http.StatusForbidden:
		perm := RequiredPermission(e.Path)
		if perm == "" {
			return fmt.Sprintf("the API token is valid but its user lacks permission to read %s: give the service user a role that can view this data on the configured scope (account/site)", e.Path)
		}
		return fmt.Sprintf("the API token is valid but its user lacks permission to read %s: give the service user a role that includes %s on the configured scope (account/site), or disable this stream", e.Path, perm)
	case e.isInvalidCursor():
		return "the console rejected the pagination cursor (expired or corrupt): discard the saved cursor and restart this stream from its last watermark"
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity:
		return "the console rejected the request parameters: check the filters, IDs (18-19 digit strings) and limit (1-1000, /groups 1-300) sent for this stream; retrying will not help"
	case e.Status == http.StatusNotFound:
		return "the endpoint or object does not exist on this console: check the console URL (it must be the management console, e.g. https://<tenant>.sentinelone.net) and that this console version supports the endpoint"
	case e.Status == http.StatusTooManyRequests:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("the console rate limit was hit: retry after %s; if this happens often lower the sync concurrency or frequency", e.RetryAfter)
		}
		return "the console rate limit was hit: retry with exponential backoff; if this happens often lower the sync concurrency or frequency"
	case e.Status >= 300 && e.Status < 400:
		loc := ""
		if e.Location != "" {
			loc = " to " + e.Location
		}
		return "the console redirected the request" + loc + ": the console URL is probably wrong (use the API host, e.g. https://<tenant>.sentinelone.net, not an SSO or login page); redirects are not followed so the token is never sent elsewhere"
	case e.Status >= 500:
		return "the console had a server-side error; this is usually transient and the request can be retried later; if it persists check the SentinelOne status page or contact support"
	case e.Status >= 200 && e.Status < 300:
		return "the console reported an error in a successful response: the data may be incomplete; retry later and contact SentinelOne support if it persists"
	default:
		return "unexpected response from the console: check the console URL and any proxy between the connector and the console"
	}
}

func (e *APIError) isInvalidCursor() bool {
	if e.Status != http.StatusBadRequest {
		return false
	}
	return strings.Contains(strings.ToLower(e.Detail), "cursor") || strings.Contains(strings.ToLower(e.Title), "cursor")
}

// Retryable reports whether repeating the same request later may succeed.
func (e *APIError) Retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// TransportError means the request did not produce an HTTP response: DNS, TCP,
// TLS, timeout, or the connection dropped while reading the body. Check
// Retryable(): most transport errors are, TLS trust failures are not.
type TransportError struct {
	Method, Path string
	Timeout      bool
	Err          error
}

func (e *TransportError) Error() string {
	var x509Unknown x509.UnknownAuthorityError
	var x509Host x509.HostnameError
	var x509Invalid x509.CertificateInvalidError
	prefix := fmt.Sprintf("sentinelone: %s %s: ", e.Method, e.Path)
	switch {
	case errors.As(e.Err, &x509Unknown):
		return prefix + "TLS certificate of the console is not trusted (" + e.Err.Error() + "): if the console or an inspecting proxy uses a private CA, configure its PEM certificate as the CA file"
	case errors.As(e.Err, &x509Host):
		return prefix + "TLS certificate does not match the console host (" + e.Err.Error() + "): check the console URL"
	case errors.As(e.Err, &x509Invalid):
		return prefix + "TLS certificate of the console is invalid (" + e.Err.Error() + "): check the system clock and the console/proxy certificate"
	case e.Timeout:
		return prefix + "request timed out (" + e.Err.Error() + "): the console is slow or unreachable; the request can be retried, or raise the timeout"
	default:
		return prefix + "request failed (" + e.Err.Error() + "): the console could not be reached or the connection dropped; check the console URL, DNS, proxy and firewall; the request can be retried"
	}
}

func (e *TransportError) Unwrap() error { return e.Err }

// Retryable is false for TLS certificate problems (configuration errors) and true otherwise.
func (e *TransportError) Retryable() bool {
	var a x509.UnknownAuthorityError
	var b x509.HostnameError
	var c x509.CertificateInvalidError
	return !errors.As(e.Err, &a) && !errors.As(e.Err, &b) && !errors.As(e.Err, &c)
}

// DecodeError means the console answered but the body could not be understood
// (not JSON, truncated, wrong shape). Snippet is a sanitised excerpt of the body
// with anything token-like removed.
type DecodeError struct {
	Method, Path string
	Status       int
	Snippet      string
	Err          error
	retryable    bool
}

func (e *DecodeError) Error() string {
	what := "retrying may help (a proxy or load balancer may have truncated or replaced the response)"
	if !e.retryable {
		what = "the response does not have the expected shape for this endpoint; retrying will not help, report it with the console version"
	}
	return fmt.Sprintf("sentinelone: %s %s: HTTP %d response body could not be decoded (%v); body starts with %q: %s",
		e.Method, e.Path, e.Status, e.Err, e.Snippet, what)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Retryable reports whether the same request may succeed later.
func (e *DecodeError) Retryable() bool { return e.retryable }

func asAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}

// IsAuth reports an HTTP 401: the token is invalid, revoked or expired.
func IsAuth(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.Status == http.StatusUnauthorized
}

// IsPermission reports an HTTP 403: the token's user lacks an RBAC permission.
func IsPermission(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.Status == http.StatusForbidden
}

// IsValidation reports an HTTP 400/422: bad parameters (includes an invalid cursor).
func IsValidation(err error) bool {
	ae, ok := asAPIError(err)
	return ok && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusUnprocessableEntity)
}

// IsInvalidCursor reports a 400 whose title/detail mentions the cursor
// ("Invalid cursor value received"). The saved cursor should be discarded.
func IsInvalidCursor(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.isInvalidCursor()
}

// IsRateLimited reports an HTTP 429. See APIError.RetryAfter.
func IsRateLimited(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.Status == http.StatusTooManyRequests
}

// IsServer reports an HTTP 5xx.
func IsServer(err error) bool {
	ae, ok := asAPIError(err)
	return ok && ae.Status >= 500
}

// IsTransport reports that no HTTP response was received (network, TLS, timeout).
func IsTransport(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// IsRetryable reports whether repeating the request later may succeed:
// transport errors (except TLS trust failures), undecodable bodies, 408, 429 and
// 5xx. Context cancellation, auth, permission and validation errors are not
// retryable.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return false
}

// RetryAfter returns the server-requested delay for a 429/503, or 0.
func RetryAfter(err error) time.Duration {
	if ae, ok := asAPIError(err); ok {
		return ae.RetryAfter
	}
	return 0
}

// permissionTable maps path prefixes (relative to /web/api/v2.1) to the RBAC
// permission the console requires (reference doc §6). Longest prefix wins.
var permissionTable = []struct{ prefix, perm string }{
	{"/agents", "Endpoints.view"},
	{"/threats", "Threats.view"},
	{"/cloud-detection/alerts", "Custom Alerts.view"},
	{"/accounts", "Accounts.view"},
	{"/sites", "Sites.view"},
	{"/groups", "Groups.view"},                                       // [INFERRED] not in the reference doc
	{"/activities", "Activity Page.view"},                            // §6.7
	{"/application-management/risks", "Applications Page.viewRisks"}, // §6.8
	{"/application-management", "Applications Page.view"},            // [INFERRED]
	{"/installed-applications", "Applications Page.view"},            // [INFERRED]
	{"/xdr", "XDR Inventory.view"},                                   // §6.9
	{"/system/configuration", "Configuration.view"},                  // §5
}

// RequiredPermission returns the console RBAC permission needed to read path
// (relative to /web/api/v2.1, e.g. "/agents" → "Endpoints.view"), or "" when no
// specific permission is known (e.g. /system/info needs only a valid token).
func RequiredPermission(path string) string {
	path = relPath(path)
	best, bestLen := "", -1
	for _, p := range permissionTable {
		if hasPathPrefix(path, p.prefix) && len(p.prefix) > bestLen {
			best, bestLen = p.perm, len(p.prefix)
		}
	}
	return best
}

// hasPathPrefix matches whole path segments: "/agents" matches "/agents" and
// "/agents/count" but not "/agentsX".
func hasPathPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

// relPath strips the API prefix, query and fragment from path.
func relPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimPrefix(p, apiPrefix)
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return p
}

// Patterns for secrets that may appear in a response body excerpt.
var (
	// "apiToken":"...", token=..., password: ...
	secretKV = regexp.MustCompile(`(?i)(api-?token|token|authorization|password|secret)("?\s*[:=]\s*"?)((?:(?:apitoken|bearer|token|basic)\s+)?)([^\s"',}&]+)`)
	// "ApiToken abc...", "Bearer abc..."
	secretHeader = regexp.MustCompile(`(?i)(apitoken|bearer|token)(\s+)([A-Za-z0-9+/_\-.=]{16,})`)
	// Long opaque strings (tokens, JWT segments, base64). 18-19 digit IDs are shorter.
	secretLong = regexp.MustCompile(`[A-Za-z0-9+/_\-=]{32,}`)
	// Runs of token-alphabet characters, checked against the literal token.
	tokenRun = regexp.MustCompile(`[A-Za-z0-9+/_\-=]{8,}`)
)

// sanitize removes the literal token and anything token-like from s, drops
// control characters and truncates the result to max bytes. Used for body
// excerpts placed in error strings.
func sanitize(s, token string, max int) string {
	const scanMax = 64 << 10
	if len(s) > scanMax {
		s = s[:scanMax]
	}
	if token != "" {
		s = strings.ReplaceAll(s, token, "[REDACTED]")
		// Fragments of the token (e.g. from a truncated quote) are removed too.
		s = tokenRun.ReplaceAllStringFunc(s, func(run string) string {
			if len(run) >= 8 && strings.Contains(token, run) {
				return "[REDACTED]"
			}
			return run
		})
	}
	s = secretKV.ReplaceAllString(s, "${1}${2}${3}[REDACTED]")
	s = secretHeader.ReplaceAllString(s, "${1}${2}[REDACTED]")
	s = secretLong.ReplaceAllString(s, "[REDACTED]")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
