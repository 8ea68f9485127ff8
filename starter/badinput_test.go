package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/store"
)

// TestBadInputMatrix feeds the CLI bad flags, files, URLs, schedules and configuration:
// each must fail with one clear line on stderr, a non-zero exit, and create nothing.
func TestBadInputMatrix(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite://" + filepath.Join(dir, "c.db")
	key, err := codec.GenerateKey()
	require.NoError(t, err)
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	good := file("token", []byte("ZXlKaGJHY2lPaUpJVXpJMU5pSjkuZXlKemRXSWlPaUp6WlhKMmFXTmxkWE5s\n"))
	empty := file("empty", nil)
	spaces := file("spaces", []byte("   \n\t\n"))
	binary := file("binary", []byte{0x00, 0x01, 0xff, 0xfe, 'a', 'b', 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d})
	huge := file("huge", bytes.Repeat([]byte("A"), 70<<10))
	inner := file("inner", []byte("abcdefghij klmnopqrstuvwxyz0123456789"))
	short := file("short", []byte("abc"))
	notJSON := file("f1.json", []byte("{threats: nope"))
	arrObj := file("f2.json", []byte(`{"agents": {"osTypes": [{"a": 1}]}}`))
	ctrl := file("f3.json", []byte(`{"agents": {"limit": "5"}}`))
	unkStream := file("f4.json", []byte(`{"endpoints": {"osTypes": "windows"}}`))
	deltaKey := file("f5.json", []byte(`{"agents": {"updatedAt__gt": "2024-01-01T00:00:00Z"}}`))
	notPEM := file("ca.txt", []byte("not a certificate"))
	base := []string{"connection", "create", "--id", "c1", "--token-file", good}
	with := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	url := "--console-url"

	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
		code int
	}{
		{"unknown command", []string{"frobnicate"}, nil, "unknown command", exitUsage},
		{"connection without subcommand", []string{"connection"}, nil, "needs a subcommand", exitUsage},
		{"unknown subcommand", []string{"connection", "explode"}, nil, "unknown connection subcommand", exitUsage},
		{"unknown flag", with(url, "h.example.com", "--bogus"), nil, "flag provided but not defined", exitUsage},
		{"missing id", []string{"connection", "create", url, "h.example.com", "--token-file", good}, nil, "missing connection ID", exitUsage},
		{"bad id", []string{"connection", "create", "--id", "Bad ID!", url, "h.example.com", "--token-file", good}, nil, "invalid connection ID", exitUsage},
		{"positional argument", append(with(url, "h.example.com"), "extra"), nil, "not a positional argument", exitUsage},
		{"missing console url", with(), nil, "--console-url is required", exitUsage},
		{"url with userinfo", with(url, "https://user:pass@h.example.com"), nil, "--console-url", exitUsage},
		{"http without insecure", with(url, "http://h.example.com"), nil, "--console-url", exitUsage},
		{"ftp scheme", with(url, "ftp://h.example.com"), nil, "--console-url", exitUsage},
		{"url with query", with(url, "https://h.example.com/?x=1"), nil, "--console-url", exitUsage},
		{"url with space", with(url, "https://h.exa mple.com"), nil, "--console-url", exitUsage},
		{"url bad port", with(url, "https://h.example.com:99999"), nil, "--console-url", exitUsage},
		{"empty token file", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", empty}, nil, "token input is empty", exitUsage},
		{"whitespace token file", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", spaces}, nil, "token input is empty", exitUsage},
		{"binary token file", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", binary}, nil, "binary", exitUsage},
		{"huge token file", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", huge}, nil, "larger than 64 KiB", exitUsage},
		{"token with inner space", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", inner}, nil, "whitespace", exitUsage},
		{"token too short", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", short}, nil, "only 3 characters", exitUsage},
		{"token file missing", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", filepath.Join(dir, "nope")}, nil, "cannot read --token-file", exitUsage},
		{"token file is a directory", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-file", dir}, nil, "is a directory", exitUsage},
		{"token file and env", with(url, "h.example.com", "--token-env", "X"), nil, "not both", exitUsage},
		{"token env unset", []string{"connection", "create", "--id", "c1", url, "h.example.com", "--token-env", "S1_NOPE_UNSET"}, nil, "is not set", exitUsage},
		{"no token", []string{"connection", "create", "--id", "c1", url, "h.example.com"}, nil, "no API token", exitUsage},
		{"unknown stream", with(url, "h.example.com", "--streams", "agents,endpoints"), nil, "unknown or unsupported stream \"endpoints\"", exitUsage},
		{"duplicate stream", with(url, "h.example.com", "--streams", "agents,agents"), nil, "twice", exitUsage},
		{"zero backfill windows", with(url, "h.example.com", "--backfill-windows", "0"), nil, "--backfill-windows=0 must be between 1 and 64", exitUsage},
		{"too many backfill windows", with(url, "h.example.com", "--backfill-windows", "65"), nil, "--backfill-windows=65 must be between 1 and 64", exitUsage},
		{"bad account id", with(url, "h.example.com", "--account-ids", "12,abc"), nil, "--account-ids", exitUsage},
		{"bad site id", with(url, "h.example.com", "--site-ids", "0"), nil, "--site-ids", exitUsage},
		{"filters not json", with(url, "h.example.com", "--filters-file", notJSON), nil, "not a JSON object", exitUsage},
		{"filters array of objects", with(url, "h.example.com", "--filters-file", arrObj), nil, "arrays may hold only", exitUsage},
		{"filters controlled key", with(url, "h.example.com", "--filters-file", ctrl), nil, "set by the connector", exitUsage},
		{"filters unknown stream", with(url, "h.example.com", "--filters-file", unkStream), nil, "unknown stream", exitUsage},
		{"filters delta key", with(url, "h.example.com", "--filters-file", deltaKey), nil, "delta watermark", exitUsage},
		{"filters file missing", with(url, "h.example.com", "--filters-file", filepath.Join(dir, "nope.json")), nil, "--filters-file", exitUsage},
		{"bad schedule", with(url, "h.example.com", "--schedule", "every day"), nil, "--schedule", exitUsage},
		{"schedule too short", with(url, "h.example.com", "--schedule", "10s"), nil, "shorter than 1m", exitUsage},
		{"bad cron field", with(url, "h.example.com", "--schedule", "0 25 * * *"), nil, "--schedule", exitUsage},
		{"bad timezone", with(url, "h.example.com", "--schedule", "@daily", "--timezone", "Mars/Olympus"), nil, "unknown timezone", exitUsage},
		{"bad lookback", with(url, "h.example.com", "--lookback", "abc"), nil, "--lookback", exitUsage},
		{"zero lookback", with(url, "h.example.com", "--lookback", "0d"), nil, "--lookback must be positive", exitUsage},
		{"negative lookback", with(url, "h.example.com", "--lookback", "-3d"), nil, "--lookback", exitUsage},
		{"bad start-at", with(url, "h.example.com", "--start-at", "tomorrow"), nil, "--start-at", exitUsage},
		{"end before start", with(url, "h.example.com", "--start-at", "2027-01-02T00:00:00Z", "--end-at", "2027-01-01T00:00:00Z"), nil, "--end-at must be after", exitUsage},
		{"ca file missing", with(url, "h.example.com", "--ca-file", filepath.Join(dir, "ca.pem")), nil, "--ca-file", exitUsage},
		{"ca file not pem", with(url, "h.example.com", "--ca-file", notPEM), nil, "no PEM certificate", exitUsage},
		{"reconcile too often", with(url, "h.example.com", "--reconcile-every", "5m"), nil, "at least 1h", exitUsage},
		{"unreachable console", with(url, "127.0.0.1:1"), nil, "connection test failed, nothing created", exitTestFail},
		{"database url scheme", with(url, "h.example.com"), map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with", exitUsage},
		{"log level", with(url, "h.example.com"), map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL", exitUsage},
		{"temporal address", with(url, "h.example.com"), map[string]string{"TEMPORAL_ADDRESS": "nohostport"}, "TEMPORAL_ADDRESS", exitUsage},
		{"short encryption key", with(url, "h.example.com"), map[string]string{"CONNECTOR_ENCRYPTION_KEY": "c2hvcnQ="}, "CONNECTOR_ENCRYPTION_KEY", exitUsage},
		{"missing encryption key", with(url, "h.example.com"), map[string]string{"CONNECTOR_ENCRYPTION_KEY": ""}, "no encryption key", exitUsage},
		{"sync bad id", []string{"sync", "../etc"}, nil, "invalid connection ID", exitUsage},
		{"sync two ids", []string{"sync", "a", "b"}, nil, "exactly one connection ID", exitUsage},
		{"sync bad backfill", []string{"sync", "c1", "--backfill", "lots"}, nil, "--backfill", exitUsage},
		{"status unknown connection", []string{"status", "c9"}, nil, "not found", exitUsage},
		{"export unknown stream", []string{"export", "c1", "--stream", "endpoints"}, nil, "unknown stream", exitUsage},
		{"export bad format", []string{"export", "c1", "--stream", "agents", "--format", "xml"}, nil, "--format", exitUsage},
		{"export no stream", []string{"export", "c1"}, nil, "needs --stream", exitUsage},
		{"rotate no token", []string{"rotate-token", "c1"}, nil, "no API token", exitUsage},
		{"delete unknown", []string{"connection", "delete", "c9"}, nil, "not found", exitUsage},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DATABASE_URL", dbURL)
			t.Setenv("CONNECTOR_ENCRYPTION_KEY", key)
			t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
			t.Setenv("LOG_LEVEL", "info")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			require.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "exactly one line on stderr, got %q", stderr.String())
			require.True(t, strings.HasPrefix(stderr.String(), "starter: "), stderr.String())
			require.Contains(t, stderr.String(), tc.want)
			require.NotContains(t, stderr.String(), "ZXlKaGJHY2lPaUpJVXpJ", "the token must never be echoed")
		})
	}
	// Nothing was created by any of them.
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	defer st.Close()
	conns, err := st.ListConnections(context.Background())
	require.NoError(t, err)
	require.Empty(t, conns)
}
