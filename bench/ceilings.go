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
	"github.com/sentinelone-connector/s1conn/store"
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
	cursor := ""
	for {
		err = c.Walk(ctx, path, params, cursor, func(p *sentinelone.Page) error {
			requests++
			records += int64(len(p.Data))
			cursor = p.NextCursor
			return nil
		})
		if !sentinelone.IsRateLimited(err) {
			return records, requests, time.Since(t0), err
		}
		// A 429 (only when the simulator enforces S1's limits): wait as told and go on from
		// the last page, as a walk's page retry does.
		wait := sentinelone.RetryAfter(err)
		if wait <= 0 {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return records, requests, time.Since(t0), ctx.Err()
		case <-time.After(wait):
		}
	}
}

// copyOnly loads the connection's stored rows of table (every column, as text) in chunks and
// COPYs each chunk into two staging tables with the same columns and compression, timing only
// the COPY and the commit of each: an UNLOGGED table without indexes (the write-only ceiling),
// and a durable one — logged, with the table's primary key and indexes — which measures what
// PostgreSQL itself charges for WAL and index maintenance on the same rows. It returns rows,
// the two COPY times and the CPU PostgreSQL's processes spent in each.
func copyOnly(ctx context.Context, db *sql.DB, table, connID string, withDurable bool) (rows int64, d, durable time.Duration, cpu [2]time.Duration, err error) {
	var cols []string
	r, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return 0, 0, 0, cpu, err
	}
	for r.Next() {
		var c string
		if err := r.Scan(&c); err != nil {
			r.Close()
			return 0, 0, 0, cpu, err
		}
		cols = append(cols, c)
	}
	r.Close()
	if len(cols) == 0 {
		return 0, 0, 0, cpu, fmt.Errorf("table %s has no columns", table)
	}
	staging := []struct{ name, ddl string }{
		{"bench_copy_" + table, `CREATE UNLOGGED TABLE bench_copy_` + table + ` (LIKE ` + table + ` INCLUDING DEFAULTS INCLUDING COMPRESSION)`},
		{"bench_durable_" + table, `CREATE TABLE bench_durable_` + table + ` (LIKE ` + table + ` INCLUDING ALL)`},
	}
	if !withDurable {
		staging = staging[:1]
	}
	for _, st := range staging {
		if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+st.name); err != nil {
			return 0, 0, 0, cpu, err
		}
		if _, err := db.ExecContext(ctx, st.ddl); err != nil {
			return 0, 0, 0, cpu, err
		}
		defer db.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+st.name) //nolint:errcheck
	}
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
	last := ""
	for {
		chunk, err := loadChunk(ctx, db, q, connID, last, len(cols))
		if err != nil {
			return 0, 0, 0, cpu, err
		}
		if len(chunk) == 0 {
			break
		}
		last = chunk[len(chunk)-1][keyIdx].(string)
		for i, st := range staging {
			pg0 := postgresCPU()
			took, err := copyChunk(ctx, db, st.name, cols, chunk)
			if err != nil {
				return 0, 0, 0, cpu, err
			}
			cpu[i] += postgresCPU() - pg0
			if i == 0 {
				d += took
			} else {
				durable += took
			}
		}
		rows += int64(len(chunk))
	}
	return rows, d, durable, cpu, nil
}

// copyChunk COPYs rows into table in one transaction and returns the COPY + commit time.
func copyChunk(ctx context.Context, db *sql.DB, table string, cols []string, chunk [][]any) (time.Duration, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	t0 := time.Now()
	stmt, err := tx.PrepareContext(ctx, store.CopyStatement(table, cols))
	if err != nil {
		return 0, err
	}
	for _, row := range chunk {
		if _, err := stmt.ExecContext(ctx, row...); err != nil {
			stmt.Close()
			return 0, fmt.Errorf("COPY into %s: %w", table, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		stmt.Close()
		return 0, fmt.Errorf("COPY into %s: %w", table, err)
	}
	if err := stmt.Close(); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
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
