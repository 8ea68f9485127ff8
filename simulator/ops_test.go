package simulator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateLimits(t *testing.T) {
	for _, retryAfter := range []bool{false, true} {
		clk := newClock()
		s := New(Options{Seed: 1, Agents: 10, Now: clk.Now, EnforceRateLimits: true, RetryAfter: retryAfter})
		require.Equal(t, 200, get(t, s, "/agents", nil).Code)
		rec := get(t, s, "/agents", nil) // /agents: 25 rps, burst 1
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		require.Equal(t, Body429, rec.Body.String())
		if retryAfter {
			require.Equal(t, "1", rec.Header().Get("Retry-After"))
		} else {
			require.Empty(t, rec.Header().Values("Retry-After"))
		}
		// Other prefixes and other tokens have their own buckets.
		require.Equal(t, 200, get(t, s, "/sites", nil).Code)
		s.AddToken(Token{Value: "second"})
		require.Equal(t, 200, call(t, s, "GET", "/agents", nil, "second").Code)
		// The bucket refills with the simulator's clock.
		clk.Advance(40 * time.Millisecond)
		require.Equal(t, 200, get(t, s, "/agents", nil).Code)
		// /accounts allows a burst of 10.
		for range 10 {
			require.Equal(t, 200, get(t, s, "/accounts", nil).Code)
		}
		require.Equal(t, 429, get(t, s, "/accounts", nil).Code)
	}
	s := New(Options{Seed: 1, Agents: 10})
	s.SetRateLimits(true, true)
	get(t, s, "/agents", nil)
	require.Equal(t, 429, get(t, s, "/agents", nil).Code)
	s.SetRateLimits(false, false)
	require.Equal(t, 200, get(t, s, "/agents", nil).Code)
}

func TestRuleFor(t *testing.T) {
	for path, want := range map[string]string{
		"/agents": "/agents", "/agents/count": "/agents", "/threats": "/threats", "/threats/1/timeline": "/threats/",
		"/users/api-token-details": "/users", "/users/login": "/users/login", "/user": "/user", "/system/status": "/system/status",
		"/application-management/inventory/endpoints": "/application-management/inventory",
	} {
		require.Equal(t, want, ruleFor(path).prefix, path)
	}
	require.Nil(t, ruleFor("/cloud-detection/alerts"))
}

func TestFaults(t *testing.T) {
	s := New(Options{Seed: 1, Agents: 50})
	s.SetFaults(Faults{ErrorRatio: 1})
	rec := get(t, s, "/agents", nil)
	require.Equal(t, 500, rec.Code)
	require.Equal(t, Body500, rec.Body.String())
	s.SetFaults(Faults{ErrorRatio: 1, Status503: true})
	require.Equal(t, 503, get(t, s, "/agents", nil).Code)
	s.SetFaults(Faults{RateLimitRatio: 1})
	rec = get(t, s, "/agents", nil)
	require.Equal(t, 429, rec.Code)
	require.Empty(t, rec.Header().Get("Retry-After"))
	s.SetFaults(Faults{TruncateRatio: 1})
	rec = get(t, s, "/agents", nil)
	require.Equal(t, 200, rec.Code)
	require.Error(t, json.Unmarshal(rec.Body.Bytes(), new(any)))
	require.Equal(t, 401, call(t, s, "GET", "/agents", nil, "bad").Code, "only 200s are truncated")

	// Ratios are honoured approximately and deterministically.
	s.SetFaults(Faults{ErrorRatio: 0.3})
	errs := 0
	for range 1000 {
		if get(t, s, "/system/status", nil).Code == 500 {
			errs++
		}
	}
	require.InDelta(t, 300, errs, 60)
	s.SetFaults(Faults{})
	require.Equal(t, 200, get(t, s, "/agents", nil).Code)
}

func TestServerTLSDropAndLatency(t *testing.T) {
	s := New(Options{Seed: 1, Agents: 100})
	sv, err := s.Start(true)
	require.NoError(t, err)
	defer sv.Close()
	require.True(t, strings.HasPrefix(sv.URL, "https://127.0.0.1:"))

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, s.WriteCAPEM(caFile))
	pemBytes, err := os.ReadFile(caFile)
	require.NoError(t, err)
	require.Equal(t, sv.CAPEM, pemBytes)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}

	do := func(path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", sv.URL+APIPrefix+path, nil)
		req.Header.Set("Authorization", "ApiToken "+DefaultToken)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	resp, body, err := do("/agents?limit=5")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(body))
	for _, host := range []string{"localhost", "[::1]"} {
		u, _ := url.Parse(sv.URL)
		req, _ := http.NewRequest("GET", "https://"+host+":"+u.Port()+APIPrefix+"/system/status", nil)
		if r, err := client.Do(req); err == nil { // ::1 may be unavailable; TLS must verify when reachable
			r.Body.Close()
		} else {
			require.NotContains(t, err.Error(), "certificate")
		}
	}

	s.SetFaults(Faults{DropRatio: 1})
	_, _, err = do("/agents?limit=50")
	require.Error(t, err)
	require.Contains(t, err.Error(), "unexpected EOF")

	s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	_, _, err = do("/system/status")
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	plain, err := s.Start(false)
	require.NoError(t, err)
	defer plain.Close()
	require.True(t, strings.HasPrefix(plain.URL, "http://"))
}

func TestRequestLog(t *testing.T) {
	s := New(Options{Seed: 1, Agents: 10, MaxRequestLog: 5})
	get(t, s, "/agents", url.Values{"limit": {"3"}})
	call(t, s, "GET", "/agents", nil, "wrong")
	get(t, s, "/sites", nil)
	call(t, s, "GET", "/system/status", nil, "")
	reqs := s.Requests()
	require.Len(t, reqs, 4)
	require.Equal(t, "GET", reqs[0].Method)
	require.Equal(t, APIPrefix+"/agents", reqs[0].Path)
	require.Equal(t, "limit=3", reqs[0].RawQuery)
	require.Equal(t, 200, reqs[0].Status)
	require.Equal(t, 401, reqs[1].Status)
	require.NotEmpty(t, reqs[0].Token)
	require.NotContains(t, reqs[0].Token, DefaultToken)
	require.NotEqual(t, reqs[0].Token, reqs[1].Token)
	require.Empty(t, reqs[3].Token)
	require.Equal(t, 2, s.CountRequests("GET", "/agents"))
	require.Equal(t, 2, s.CountRequests("", APIPrefix+"/agents"))
	require.Equal(t, 0, s.CountRequests("POST", "/agents"))
	for range 5 {
		get(t, s, "/groups", nil)
	}
	require.Len(t, s.Requests(), 5, "bounded")
	require.Equal(t, 5, s.CountRequests("GET", "/groups"))
	s.ResetRequests()
	require.Empty(t, s.Requests())
}
