// Package store persists connections, sync runs, per-stream checkpoints and the
// records of every stream through sqlx, on PostgreSQL (lib/pq) or the embedded
// SQLite. Each page of records is written together with its checkpoint in one
// transaction, so a retried page changes nothing.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // embedded SQLite driver

	"github.com/sentinelone-connector/s1conn/config"
)

//go:embed migrations
var migrations embed.FS

// Store is the connector's database.
type Store struct {
	db   *sqlx.DB
	isPG bool
	// beforeCopy (tests only) runs between existing() and the COPY of a page's new and changed rows.
	beforeCopy func()
	// beforePrevWait (tests only) runs when a page has written its rows and waits for its Prev.
	beforePrevWait func(p *Page)
	now            func() time.Time
	growth         tableGrowth // inserts per table since its last ANALYZE (analyze.go)
}

// Open connects to DATABASE_URL (postgres://… or sqlite://PATH) and applies pending migrations.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	driver, dsn, err := config.ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	if driver == "sqlite" {
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the SQLite directory %s: %w", dir, err)
			}
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_time_format=sqlite"
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	s := &Store{db: db, isPG: driver == "postgres", now: func() time.Time { return time.Now().UTC() }}
	if s.isPG {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(maxIdleConns)
	} else {
		// One writer at a time is all SQLite allows; a single connection avoids SQLITE_BUSY inside a process.
		db.SetMaxOpenConns(1)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to the database (%s): %w; check DATABASE_URL and that the server is running", driver, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if s.isPG {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, s.db.DB, sub)
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if s.isPG {
		// Serialise concurrent workers migrating the same database.
		// Fix: a session-level advisory lock belongs to the connection that took it. Locking and
		// unlocking through the pool (s.db.ExecContext) may run the unlock on another connection
		// (it then fails silently) and leave the lock held by an idle pooled connection, blocking
		// every other process's Open until this store closes. Hold it on one dedicated connection.
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("locking for migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7413001)`); err != nil {
			return fmt.Errorf("locking for migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7413001)`) //nolint:errcheck
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying database migrations: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB exposes the handle for tests and benchmarks.
func (s *Store) DB() *sqlx.DB { return s.db }

// IsPostgres reports whether the store is PostgreSQL.
func (s *Store) IsPostgres() bool { return s.isPG }

// ErrNotFound is returned when a connection does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when creating a connection whose ID is taken.
var ErrExists = errors.New("already exists")

type sqlxTx = sqlx.Tx

// maxIdleConns is how many connections the PostgreSQL pool keeps idle.
const maxIdleConns = 10

func (s *Store) inTx(ctx context.Context, fn func(tx *sqlxTx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	return runTx(tx, fn)
}

// inConnTx is inTx on a connection held for the transaction, which fn also gets: the COPY
// writer (pgwrite.go) reaches the driver connection under the transaction through conn.Raw.
func (s *Store) inConnTx(ctx context.Context, fn func(tx *sqlxTx, conn *sqlx.Conn) error) error {
	conn, tx, err := s.beginConnTx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return runTx(tx, func(tx *sqlxTx) error { return fn(tx, conn) })
}

// beginConnTx takes a connection and begins a transaction on it. A BEGIN that meets a pooled
// connection broken behind the pool's back (PostgreSQL restarted or killed the backend) fails
// with driver.ErrBadConn, or with the network's error when the reset arrives first; nothing
// ran, so it is tried again on another connection (DB.BeginTx retries the first kind only,
// Conn.BeginTx neither). The broken connection is discarded, and after a restart every idle
// one is broken: up to one more try than the pool keeps idle.
func (s *Store) beginConnTx(ctx context.Context) (*sqlx.Conn, *sqlxTx, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.db.Connx(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("taking a database connection: %w", err)
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err == nil {
			return conn, tx, nil
		}
		_ = conn.Close()
		var netErr *net.OpError
		if !errors.Is(err, driver.ErrBadConn) && !errors.As(err, &netErr) || attempt > maxIdleConns {
			return nil, nil, fmt.Errorf("beginning a transaction: %w", err)
		}
	}
}

// runTx runs fn in tx and commits, or rolls back when fn fails or panics.
func runTx(tx *sqlxTx, fn func(tx *sqlxTx) error) error {
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback() // give the connection back before the panic goes on
			panic(r)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func scanTime(nt sql.NullTime) time.Time {
	if !nt.Valid {
		return time.Time{}
	}
	return nt.Time.UTC()
}
