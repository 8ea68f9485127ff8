package sentinelone

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeConsoleURL(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		insecure bool
		want     string
		errHas   string // substring of the error; "" means success expected
	}{
		{name: "bare host", in: "usea1-partners.sentinelone.net", want: "https://usea1-partners.sentinelone.net"},
		{name: "host with port", in: "console.example.com:8443", want: "https://console.example.com:8443"},
		{name: "https host", in: "https://usea1-partners.sentinelone.net", want: "https://usea1-partners.sentinelone.net"},
		{name: "trailing slash", in: "https://usea1-partners.sentinelone.net/", want: "https://usea1-partners.sentinelone.net"},
		{name: "api path dropped", in: "https://usea1-partners.sentinelone.net/web/api/v2.1/", want: "https://usea1-partners.sentinelone.net"},
		{name: "login path dropped", in: "https://x.sentinelone.net/login", want: "https://x.sentinelone.net"},
		{name: "upper case scheme and host", in: "HTTPS://USEA1-Partners.SentinelOne.NET", want: "https://usea1-partners.sentinelone.net"},
		{name: "https with port and path", in: "https://console.example.com:443/web", want: "https://console.example.com:443"},
		{name: "ipv4", in: "10.0.0.5:8443", want: "https://10.0.0.5:8443"},
		{name: "ipv6 literal", in: "https://[2001:DB8::1]:8443/x", want: "https://[2001:db8::1]:8443"},
		{name: "ipv6 literal no port", in: "[::1]", want: "https://[::1]"},
		{name: "localhost", in: "localhost:8080", want: "https://localhost:8080"},
		{name: "trailing dot fqdn", in: "https://x.sentinelone.net./", want: "https://x.sentinelone.net"},
		{name: "http allowed with flag", in: "http://127.0.0.1:8080/", insecure: true, want: "http://127.0.0.1:8080"},
		{name: "https with flag stays https", in: "x.sentinelone.net", insecure: true, want: "https://x.sentinelone.net"},

		{name: "empty", in: "", errHas: "empty"},
		{name: "http without flag", in: "http://x.sentinelone.net", errHas: "unencrypted"},
		{name: "userinfo", in: "https://admin:hunter2@x.sentinelone.net", errHas: "credentials"},
		{name: "userinfo no scheme", in: "admin:hunter2@x.sentinelone.net", errHas: "credentials"},
		{name: "query", in: "https://x.sentinelone.net/?token=abc", errHas: "query"},
		{name: "fragment", in: "https://x.sentinelone.net/#/dashboard", errHas: "fragment"},
		{name: "ftp scheme", in: "ftp://x.sentinelone.net", errHas: "not supported"},
		{name: "javascript scheme", in: "javascript://alert(1)", errHas: "not supported"},
		{name: "missing slashes", in: "https:x.sentinelone.net", errHas: "malformed scheme"},
		{name: "missing scheme before ://", in: "://x.sentinelone.net", errHas: "missing its scheme"},
		{name: "leading space", in: " https://x.sentinelone.net", errHas: "whitespace"},
		{name: "trailing newline", in: "https://x.sentinelone.net\n", errHas: "whitespace"},
		{name: "inner space", in: "https://x.sentinel one.net", errHas: "whitespace"},
		{name: "control char", in: "https://x.sentinelone.net\x00", errHas: "control"},
		{name: "no host", in: "https://", errHas: "no host"},
		{name: "no host with path", in: "https:///web/api", errHas: "no host"},
		{name: "port zero", in: "x.sentinelone.net:0", errHas: "port"},
		{name: "port too big", in: "x.sentinelone.net:65536", errHas: "port"},
		{name: "port not numeric", in: "x.sentinelone.net:https", errHas: "port"},
		{name: "empty port", in: "x.sentinelone.net:", errHas: "empty port"},
		{name: "unbracketed ipv6", in: "2001:db8::1", errHas: "brackets"},
		{name: "bad ipv6 literal", in: "https://[zz::1]", errHas: "IPv6"},
		{name: "unterminated ipv6", in: "https://[::1", errHas: "unterminated"},
		{name: "underscore host", in: "https://bad_host.example.com", errHas: "not allowed"},
		{name: "label starts with dash", in: "-x.example.com", errHas: "'-'"},
		{name: "empty label", in: "x..example.com", errHas: "empty label"},
		{name: "bad ipv4", in: "999.1.1.1", errHas: "IPv4"},
		{name: "garbage", in: "%%%", errHas: "invalid"},
		{name: "percent encoded host", in: "https://x%2esentinelone.net", errHas: "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeConsoleURL(tc.in, tc.insecure)
			if tc.errHas != "" {
				require.Error(t, err, "got %q", got)
				assert.Contains(t, err.Error(), tc.errHas)
				assert.Empty(t, got)
				assert.NotContains(t, err.Error(), "hunter2", "credentials must not be echoed")
				assert.NotContains(t, err.Error(), "token=abc", "query must not be echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			again, err := NormalizeConsoleURL(got, tc.insecure)
			require.NoError(t, err)
			assert.Equal(t, got, again, "normalisation must be idempotent")
		})
	}
}

func FuzzNormalizeConsoleURL(f *testing.F) {
	for _, s := range []string{
		"usea1-partners.sentinelone.net", "https://usea1-partners.sentinelone.net/web/api/v2.1/",
		"http://127.0.0.1:8080", "[::1]:443", "https://[2001:db8::1]:8443/x", "admin:pw@host",
		"https://host/?q=1", "ftp://x", "host:", "host:99999", " host", "https://", "%%%", "2001:db8::1",
		"https://x.sentinelone.net./", "HTTPS://UPPER.example.COM:8443/Path",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, insecure bool) {
		got, err := NormalizeConsoleURL(in, insecure)
		if err != nil {
			if got != "" {
				t.Fatalf("error with non-empty result %q", got)
			}
			if strings.Contains(in, "@") && len(in) >= 6 && strings.Contains(err.Error(), in) {
				t.Fatalf("error echoes input containing '@': %v", err)
			}
			return
		}
		u, perr := url.Parse(got)
		if perr != nil {
			t.Fatalf("result %q does not parse: %v", got, perr)
		}
		if u.Scheme != "https" && !(insecure && u.Scheme == "http") {
			t.Fatalf("bad scheme in %q", got)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Path != "" || u.Host == "" {
			t.Fatalf("result %q has userinfo/query/fragment/path or no host", got)
		}
		again, err := NormalizeConsoleURL(got, insecure)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q (%v)", got, again, err)
		}
	})
}
