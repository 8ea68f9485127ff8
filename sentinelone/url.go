package sentinelone

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// consoleURLExample is used in error messages to show the expected shape.
const consoleURLExample = "https://usea1-partners.sentinelone.net"

// NormalizeConsoleURL accepts "host", "host:port" and "http(s)://host[:port][/any/path]"
// and returns "https://host[:port]" (or "http://..." when allowInsecure is set and the
// input asked for http). The result has no trailing slash and no path; the scheme and
// host are lower-cased. Any path (e.g. "/web/api/v2.1" or "/login") is dropped.
//
// It rejects, with an actionable message: empty input, whitespace or control
// characters, credentials in the URL (user:pass@), a query string or fragment,
// schemes other than http/https, "http://" unless allowInsecure, and invalid hosts
// or ports. Error messages never echo credentials or query strings.
func NormalizeConsoleURL(raw string, allowInsecure bool) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("console URL is empty: set it to your management console address, e.g. %s", consoleURLExample)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) {
			return "", errors.New("console URL contains whitespace (often a stray space or trailing newline from copy/paste or a secret file): remove it, e.g. " + consoleURLExample)
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return "", errors.New("console URL contains control or invalid characters: set it to a plain address such as " + consoleURLExample)
		}
	}

	scheme := "https"
	rest := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme = strings.ToLower(raw[:i])
		rest = raw[i+3:]
		if scheme == "" {
			return "", fmt.Errorf("console URL is missing its scheme before \"://\": use e.g. %s", consoleURLExample)
		}
	} else {
		low := strings.ToLower(raw)
		if strings.HasPrefix(low, "https:") || strings.HasPrefix(low, "http:") {
			return "", fmt.Errorf("console URL has a malformed scheme (expected \"https://\"): use e.g. %s", consoleURLExample)
		}
	}

	// Authority ends at the first '/', '?' or '#'.
	end := strings.IndexAny(rest, "/?#")
	authority := rest
	if end >= 0 {
		authority = rest[:end]
	}
	// Check credentials first so nothing after this point can echo them.
	if strings.Contains(authority, "@") {
		return "", errors.New("console URL must not contain credentials (user:password@): remove them and configure the API token separately")
	}
	if strings.ContainsAny(rest, "?#") {
		return "", fmt.Errorf("console URL must not contain a query string or fragment ('?' or '#'): use only the scheme and host, e.g. %s", consoleURLExample)
	}

	switch scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return "", errors.New("console URL uses http://, which would send the API token unencrypted: use https:// (plain HTTP is only allowed when insecure HTTP is explicitly enabled, e.g. for a local simulator)")
		}
	default:
		if !validScheme(scheme) {
			return "", fmt.Errorf("console URL has an invalid scheme: use https://, e.g. %s", consoleURLExample)
		}
		return "", fmt.Errorf("console URL scheme %q is not supported: use https://, e.g. %s", scheme, consoleURLExample)
	}

	if authority == "" {
		return "", fmt.Errorf("console URL has no host: use e.g. %s", consoleURLExample)
	}
	host, port, err := splitHostPort(authority)
	if err != nil {
		return "", err
	}
	hostport := host
	if strings.Contains(host, ":") { // IPv6 literal
		hostport = "[" + host + "]"
	}
	if port != "" {
		hostport += ":" + port
	}
	return scheme + "://" + hostport, nil
}

func validScheme(s string) bool {
	for i, r := range s {
		isAlpha := (r >= 'a' && r <= 'z')
		if i == 0 && !isAlpha {
			return false
		}
		if !isAlpha && !(r >= '0' && r <= '9') && r != '+' && r != '-' && r != '.' {
			return false
		}
	}
	return s != ""
}

// splitHostPort validates and splits an authority without userinfo.
func splitHostPort(a string) (host, port string, err error) {
	if strings.HasPrefix(a, "[") {
		i := strings.IndexByte(a, ']')
		if i < 0 {
			return "", "", errors.New("console URL has an unterminated IPv6 literal (missing ']'): use e.g. https://[2001:db8::1]:443")
		}
		host = a[1:i]
		after := a[i+1:]
		ip := net.ParseIP(host)
		if ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return "", "", fmt.Errorf("console URL has an invalid IPv6 literal %q: use e.g. https://[2001:db8::1]", host)
		}
		host = strings.ToLower(ip.String())
		if after != "" {
			if !strings.HasPrefix(after, ":") {
				return "", "", errors.New("console URL has unexpected characters after the IPv6 literal: use e.g. https://[2001:db8::1]:443")
			}
			port = after[1:]
			if err := validPort(port); err != nil {
				return "", "", err
			}
		}
		return host, port, nil
	}
	switch strings.Count(a, ":") {
	case 0:
		host = a
	case 1:
		i := strings.IndexByte(a, ':')
		host, port = a[:i], a[i+1:]
		if err := validPort(port); err != nil {
			return "", "", err
		}
	default:
		if net.ParseIP(a) != nil {
			return "", "", fmt.Errorf("console URL IPv6 addresses must be in brackets: use https://[%s]", a)
		}
		return "", "", errors.New("console URL host contains too many ':' characters: use host or host:port, e.g. " + consoleURLExample + ":443")
	}
	if host == "" {
		return "", "", fmt.Errorf("console URL has no host: use e.g. %s", consoleURLExample)
	}
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() == nil {
			return "", "", fmt.Errorf("console URL IPv6 addresses must be in brackets: use https://[%s]", host)
		}
		return ip.String(), port, nil
	}
	if err := validHostname(host); err != nil {
		return "", "", err
	}
	return strings.TrimSuffix(host, "."), port, nil
}

func validPort(p string) error {
	if p == "" {
		return errors.New("console URL has an empty port after ':': remove the ':' or give a port number between 1 and 65535")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || strings.HasPrefix(p, "+") {
		return fmt.Errorf("console URL port %q is invalid: use a number between 1 and 65535", p)
	}
	return nil
}

func validHostname(h string) error {
	bad := func(why string) error {
		return fmt.Errorf("console URL host %q is invalid (%s): use the console's DNS name, e.g. usea1-partners.sentinelone.net", h, why)
	}
	if len(h) > 253 {
		return bad("longer than 253 characters")
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return bad("empty")
	}
	allDigits := true
	for _, label := range strings.Split(h, ".") {
		if label == "" {
			return bad("empty label")
		}
		if len(label) > 63 {
			return bad("label longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return bad("label starts or ends with '-'")
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r == '-':
				allDigits = false
			case r >= '0' && r <= '9':
			default:
				return bad(fmt.Sprintf("character %q not allowed", r))
			}
		}
	}
	if allDigits {
		return bad("looks like a malformed IPv4 address")
	}
	return nil
}
