package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/sentinelone-connector/s1conn/sentinelone"
)

// fetchOnly walks path with params using the connector's API client, decoding every page
// and discarding it. limits nil = S1's published per-path limits (as the worker runs);
// sentinelone.NoRateLimits() = none. Returns records, requests and the elapsed time.
func fetchOnly(ctx context.Context, consoleURL string, caPEM []byte, token, path string, params url.Values,
	limits []sentinelone.RateLimit) (records, requests int64, d time.Duration, err error) {
	c, err := sentinelone.New(sentinelone.Options{ConsoleURL: consoleURL, Token: token, CAPEM: caPEM,
		RateLimits: limits, Timeout: 60 * time.Second})
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	err = c.Walk(ctx, path, params, "", func(p *sentinelone.Page) error {
		requests++
		records += int64(len(p.Data))
		return nil
	})
	return records, requests, time.Since(t0), err
}

// copyOnly loads the connection's stored rows of table (every column, as text) in chunks and
// COPYs them into an UNLOGGED staging table with the same columns, timing only the COPY and
// the commit. It returns rows and the COPY time.
func copyOnly(ctx context.Context, db *sql.DB, table, connID string) (rows int64, d time.Duration, err error) {
	var cols []string
	r, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return 0, 0, err
	}
	for r.Next() {
		var c string
		if err := r.Scan(&c); err != nil {
			r.Close()
			return 0, 0, err
		}
		cols = append(cols, c)
	}
	r.Close()
	if len(cols) == 0 {
		return 0, 0, fmt.Errorf("table %s has no columns", table)
	}
	staging := "bench_copy_" + table
	if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+staging); err != nil {
		return 0, 0, err
	}
	if _, err := db.ExecContext(ctx, `CREATE UNLOGGED TABLE `+staging+` (LIKE `+table+` INCLUDING DEFAULTS)`); err != nil {
		return 0, 0, err
	}
	defer db.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+staging) //nolint:errcheck
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = pq.QuoteIdentifier(c) + "::text"
	}
	keyIdx := -1
	for i, c := range cols {
		if c == "record_key" {
			keyIdx = i
		}
	}
	q := `SELECT ` + strings.Join(sel, ", ") + ` FROM ` + table + ` WHERE connection_id = $1 AND record_key > $2 ORDER BY record_key LIMIT 20000`
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	last := ""
	for {
		chunk, err := loadChunk(ctx, db, q, connID, last, len(cols))
		if err != nil {
			return 0, 0, err
		}
		if len(chunk) == 0 {
			break
		}
		last = chunk[len(chunk)-1][keyIdx].(string)
		t0 := time.Now()
		stmt, err := tx.PrepareContext(ctx, pq.CopyIn(staging, cols...))
		if err != nil {
			return 0, 0, err
		}
		for _, row := range chunk {
			if _, err := stmt.ExecContext(ctx, row...); err != nil {
				stmt.Close()
				return 0, 0, fmt.Errorf("COPY into %s: %w", staging, err)
			}
		}
		if _, err := stmt.ExecContext(ctx); err != nil {
			stmt.Close()
			return 0, 0, fmt.Errorf("COPY into %s: %w", staging, err)
		}
		if err := stmt.Close(); err != nil {
			return 0, 0, err
		}
		d += time.Since(t0)
		rows += int64(len(chunk))
	}
	t0 := time.Now()
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	d += time.Since(t0)
	return rows, d, nil
}

func loadChunk(ctx context.Context, db *sql.DB, q, connID, after string, ncol int) ([][]any, error) {
	r, err := db.QueryContext(ctx, q, connID, after)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out [][]any
	vals := make([]sql.NullString, ncol)
	ptrs := make([]any, ncol)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for r.Next() {
		if err := r.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]any, ncol)
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return out, r.Err()
}
