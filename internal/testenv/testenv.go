// Package testenv gives tests real infrastructure: a fresh PostgreSQL database per
// test and a Temporal dev server from the CLI that `make tools` builds. When CI=true
// a missing dependency fails the test; elsewhere it skips with the command to fix it.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/sentinelone-connector/s1conn/model"
)

// missing fails under CI and skips elsewhere.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// AdminURL is the PostgreSQL server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// PostgresURL creates a fresh database for the test and drops it afterwards.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		missing(t, "PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		missing(t, "PostgreSQL is not reachable at %s (%v): start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set TEST_POSTGRES_URL", AdminURL(), err)
	}
	name := "s1t_" + RandomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	})
	u := AdminURL()
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + name + rest
}

// RandomHex returns n random bytes as hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RepoRoot finds the module root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above " + file)
		}
		dir = parent
	}
}

// TemporalCLI finds the Temporal CLI: $TEMPORAL_CLI, .tools/bin/temporal, or PATH.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p := filepath.Join(RepoRoot(t), ".tools", "bin", "temporal"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p
	}
	missing(t, "the Temporal CLI is missing: run `make tools` (builds github.com/temporalio/cli/cmd/temporal@v1.5.1 into .tools/bin)")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// SearchAttributes the connector's workflows upsert, for the dev server's --search-attribute.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrState).ValueSet(""),
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrConnectionID).ValueSet(""),
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrLastSyncStatus).ValueSet(""),
		temporal.NewSearchAttributeKeyTime(model.SearchAttrTokenExpiresAt).ValueSet(time.Time{}),
	)
}

// DevServer starts a Temporal dev server for the test (stopped at cleanup).
// dbFile, when not empty, persists its state so the server can be restarted.
func DevServer(t testing.TB, dbFile string) *testsuite.DevServer {
	t.Helper()
	return DevServerAt(t, "", dbFile)
}

// DevServerAt starts a dev server on hostPort ("" = a free port), e.g. to restart one on the
// address its clients already use.
func DevServerAt(t testing.TB, hostPort, dbFile string) *testsuite.DevServer {
	t.Helper()
	cli := TemporalCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		ClientOptions:    &client.Options{HostPort: hostPort, Namespace: "default"},
		DBFilename:       dbFile,
		LogLevel:         "error",
		SearchAttributes: SearchAttributes(),
		ExtraArgs: []string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
			"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"},
	})
	if err != nil {
		t.Fatalf("starting the Temporal dev server (%s): %v", cli, err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// Must fails the test on error.
func Must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
