// Package conncheck runs the five sequential connection checks (network, TLS,
// authentication, authorization scope, data fetch) plus token expiry, each with an
// outcome, a duration and a remediation line. The starter runs it before creating
// a connection; the CheckConnection activity runs it from the worker.
package conncheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/sentinelone"
)

// Check names, in the order they run.
const (
	CheckNetwork        = "network"
	CheckTLS            = "tls"
	CheckAuthentication = "authentication"
	CheckAuthorization  = "authorization"
	CheckDataFetch      = "data"
	CheckTokenExpiry    = "token-expiry"
)

// Input is what the checks need.
type Input struct {
	ConsoleURL string
	Token      string
	Settings   model.ConnectionSettings
	RateLimits []sentinelone.RateLimit // nil = sentinelone.DefaultRateLimits() (95 % of S1's published limits)
	// Limiters, when set, are the token's shared buckets (the worker's, so a check does not
	// add to what the token's walks send); RateLimits is then unused.
	Limiters    *sentinelone.Limiters
	ExpiryWarn  time.Duration // warn when the token expires sooner; default 14 days
	DialTimeout time.Duration // default 10s
	Now         func() time.Time
}

// ClientOptions builds the SentinelOne client options of a connection.
func ClientOptions(consoleURL, token string, s model.ConnectionSettings, limits []sentinelone.RateLimit) sentinelone.Options {
	return sentinelone.Options{ConsoleURL: consoleURL, Token: token, AllowInsecureHTTP: s.InsecureHTTP,
		CAPEM: []byte(s.CAPEM), RateLimits: limits,
		Timeout:   45 * time.Second, // under the stream walk's one-minute heartbeat timeout
		UserAgent: "s1conn/1 (+https://github.com/sentinelone-connector/s1conn)"}
}

// streamProbe is the cheap call proving a stream's permission.
var streamProbe = map[string]string{
	model.StreamAgents:          "/agents",
	model.StreamXDRAssets:       "/xdr/assets",
	model.StreamApplications:    "/application-management/inventory",
	model.StreamVulnerabilities: "/application-management/risks",
	model.StreamThreats:         "/threats",
	model.StreamAlerts:          "/cloud-detection/alerts",
}

// Run executes the checks in order; a failed check skips the ones after it.
func Run(ctx context.Context, in Input) model.CheckConnectionResult {
	if in.ExpiryWarn == 0 {
		in.ExpiryWarn = 14 * 24 * time.Hour
	}
	if in.DialTimeout == 0 {
		in.DialTimeout = 10 * time.Second
	}
	if in.Now == nil {
		in.Now = time.Now
	}
	var res model.CheckConnectionResult
	failed := false
	add := func(name string, fn func() (outcome, detail, remediation string)) {
		if failed {
			res.Checks = append(res.Checks, model.CheckResult{Name: name, Outcome: model.CheckSkip, Detail: "skipped: an earlier check failed"})
			return
		}
		start := time.Now()
		o, d, r := fn()
		res.Checks = append(res.Checks, model.CheckResult{Name: name, Outcome: o, Detail: d, Remediation: r, Duration: time.Since(start).Round(time.Millisecond)})
		if o == model.CheckFail {
			failed = true
			if res.Error == nil {
				res.Error = &model.ErrorInfo{At: in.Now().UTC(), Type: "Check:" + name, Message: d, Remediation: r}
			}
		}
	}

	base, err := sentinelone.NormalizeConsoleURL(in.ConsoleURL, in.Settings.InsecureHTTP)
	u, _ := url.Parse(base)
	add(CheckNetwork, func() (string, string, string) {
		if err != nil {
			return model.CheckFail, err.Error(), "fix the console URL: use your console's host, e.g. usea1-acme.sentinelone.net"
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = "443"
			if u.Scheme == "http" {
				port = "80"
			}
		}
		dctx, cancel := context.WithTimeout(ctx, in.DialTimeout)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(dctx, host)
		if err != nil {
			return model.CheckFail, fmt.Sprintf("DNS lookup of %s failed: %v", host, err),
				"check the console host name for typos and that this machine's DNS resolver can resolve it"
		}
		var d net.Dialer
		conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			return model.CheckFail, fmt.Sprintf("TCP connection to %s:%s failed: %v", host, port, err),
				"allow outbound HTTPS from the worker to the console (firewall, proxy, security group) and check the port"
		}
		_ = conn.Close()
		return model.CheckPass, fmt.Sprintf("%s resolves to %s; port %s reachable", host, strings.Join(addrs, ", "), port), ""
	})
	add(CheckTLS, func() (string, string, string) {
		if u.Scheme == "http" {
			return model.CheckWarn, "plain HTTP (insecure option set): no TLS", "use https:// in production"
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if in.Settings.CAPEM != "" && !pool.AppendCertsFromPEM([]byte(in.Settings.CAPEM)) {
			return model.CheckFail, "the custom CA file holds no PEM certificate", "pass a PEM-encoded CA certificate with --ca-file"
		}
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = "443"
		}
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: in.DialTimeout}, Config: &tls.Config{ServerName: host, RootCAs: pool, MinVersion: tls.VersionTLS12}}
		dctx, cancel := context.WithTimeout(ctx, in.DialTimeout)
		defer cancel()
		conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(host, port))
		if err != nil {
			return model.CheckFail, fmt.Sprintf("TLS handshake with %s failed: %v", host, err),
				"if the console sits behind a TLS-inspecting proxy or uses a private CA, pass its CA certificate with --ca-file; otherwise check the host name matches the certificate"
		}
		st := conn.(*tls.Conn).ConnectionState()
		_ = conn.Close()
		exp := ""
		if len(st.PeerCertificates) > 0 {
			exp = " (certificate valid until " + st.PeerCertificates[0].NotAfter.UTC().Format("2006-01-02") + ")"
		}
		return model.CheckPass, "certificate verified for " + host + exp, ""
	})

	var client *sentinelone.Client
	authFailed := false
	add(CheckAuthentication, func() (string, string, string) {
		var err error
		opts := ClientOptions(base, in.Token, in.Settings, in.RateLimits)
		opts.Limiters = in.Limiters
		client, err = sentinelone.New(opts)
		if err != nil {
			return model.CheckFail, err.Error(), "fix the connection options"
		}
		if _, err := list(ctx, client, "/accounts", url.Values{"limit": {"1"}}); err != nil {
			switch {
			case sentinelone.IsAuth(err):
				authFailed = true
				return model.CheckFail, "the console rejected the API token (401 Authentication Failed)",
					"the token is invalid, revoked or expired: generate a new one (Settings > Users > Service Users > Generate API Token) and pass it with --token-file"
			case sentinelone.IsPermission(err):
				// Site-scoped service users cannot list accounts; the token is still authenticated.
				return model.CheckPass, "token authenticated (it cannot list accounts: site-scoped user)", ""
			}
			return model.CheckFail, err.Error(), "check the console URL points at the management console (https://<tenant>.sentinelone.net)"
		}
		return model.CheckPass, "token accepted by /accounts", ""
	})
	add(CheckAuthorization, func() (string, string, string) {
		var missing []string
		for _, s := range in.Settings.Streams {
			path, ok := streamProbe[s]
			if !ok {
				continue
			}
			_, err := list(ctx, client, path, scope(in.Settings, url.Values{"limit": {"1"}}))
			if sentinelone.IsPermission(err) {
				missing = append(missing, fmt.Sprintf("%s needs %s", s, sentinelone.RequiredPermission(path)))
			} else if err != nil {
				return model.CheckFail, fmt.Sprintf("probing %s: %v", s, err), "check the stream's filters and scope IDs"
			}
		}
		if len(missing) > 0 {
			return model.CheckFail, "the token lacks permissions: " + strings.Join(missing, "; "),
				"give the service user a role with those permissions on the connection's scope, or disable those streams with --streams"
		}
		return model.CheckPass, "read access to " + strings.Join(in.Settings.Streams, ", "), ""
	})
	add(CheckDataFetch, func() (string, string, string) {
		p, err := list(ctx, client, "/agents", scope(in.Settings, url.Values{"limit": {"1"}, "isDecommissioned": {"true,false"}}))
		if err != nil {
			if sentinelone.IsPermission(err) {
				return model.CheckWarn, "cannot count endpoints without Endpoints.view", ""
			}
			return model.CheckFail, err.Error(), "retry later; if it persists check the console status"
		}
		if p.TotalItems == 0 && len(p.Data) == 0 {
			return model.CheckWarn, "the token's scope holds no endpoints", "check --account-ids/--site-ids and that the service user's scope covers the endpoints you expect"
		}
		return model.CheckPass, fmt.Sprintf("%d endpoints in scope", max(p.TotalItems, int64(len(p.Data)))), ""
	})
	if !failed {
		start := time.Now()
		td, err := client.TokenDetails(ctx)
		c := model.CheckResult{Name: CheckTokenExpiry, Duration: time.Since(start).Round(time.Millisecond)}
		switch {
		case err != nil:
			c.Outcome, c.Detail = model.CheckWarn, "could not read the token's expiry: "+err.Error()
		case td.ExpiresAt.IsZero():
			c.Outcome, c.Detail = model.CheckPass, "the token does not expire"
		default:
			res.TokenExpiresAt = td.ExpiresAt.UTC()
			left := td.ExpiresAt.Sub(in.Now())
			c.Outcome, c.Detail = model.CheckPass, fmt.Sprintf("expires %s (in %d days)", td.ExpiresAt.UTC().Format(time.RFC3339), int(left.Hours()/24))
			if left <= in.ExpiryWarn {
				c.Outcome = model.CheckWarn
				c.Remediation = "generate a new token before it expires and run `starter rotate-token`"
			}
		}
		res.Checks = append(res.Checks, c)
	}
	res.OK = !failed
	if authFailed && res.Error != nil {
		res.Error.Type = model.ErrTypeAuth // the console rejected the token: only a new token helps
	}
	return res
}

// list retries transient failures (5xx, 429, dropped connections) a few times, so a flaky
// console does not fail a check that a second attempt would pass.
func list(ctx context.Context, c *sentinelone.Client, path string, v url.Values) (*sentinelone.Page, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var p *sentinelone.Page
		if p, err = c.List(ctx, path, v); err == nil || !sentinelone.IsRetryable(err) {
			return p, err
		}
		wait := 200 * time.Millisecond << attempt
		if ra := sentinelone.RetryAfter(err); ra > 0 {
			wait = min(ra, 10*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return nil, err
}

func scope(s model.ConnectionSettings, v url.Values) url.Values {
	if len(s.AccountIDs) > 0 {
		v.Set("accountIds", strings.Join(s.AccountIDs, ","))
	}
	if len(s.SiteIDs) > 0 {
		v.Set("siteIds", strings.Join(s.SiteIDs, ","))
	}
	return v
}

// ErrFailed wraps a failed check result as an error.
var ErrFailed = errors.New("connection test failed")
