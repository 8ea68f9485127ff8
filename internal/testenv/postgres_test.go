package testenv

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPrivatePostgresCrashAndRestart: a committed row survives `pg_ctl stop -m immediate`,
// the cluster accepts connections again after Start, and cleanup removes its directory.
func TestPrivatePostgresCrashAndRestart(t *testing.T) {
	var base string
	t.Run("cluster", func(t *testing.T) {
		p := StartPostgres(t)
		base = p.base
		url := p.CreateDatabase("crash")
		db, err := sql.Open("postgres", url)
		Must(t, err, "open")
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = db.ExecContext(ctx, `CREATE TABLE t (v INT); INSERT INTO t VALUES (42)`)
		Must(t, err, "insert")
		Must(t, p.Stop("immediate"), "crash")
		if err := db.PingContext(ctx); err == nil {
			t.Fatal("the crashed cluster still answers")
		}
		Must(t, p.Start(), "restart")
		var v int
		// The pool's connections died with the server; database/sql replaces them.
		for range 3 {
			if err = db.QueryRowContext(ctx, `SELECT v FROM t`).Scan(&v); err == nil {
				break
			}
		}
		Must(t, err, "reading after the restart")
		if v != 42 {
			t.Fatalf("read %d after the restart, want 42", v)
		}
		if _, err := os.Stat(filepath.Join(base, "data", "PG_VERSION")); err != nil {
			t.Fatalf("no cluster in %s: %v", base, err)
		}
	})
	if base == "" {
		return // skipped: no PostgreSQL installation
	}
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Fatalf("cleanup left %s behind (%v)", base, err)
	}
}
