package store

import (
	"context"
	"sync"
)

// Planner statistics for growing record tables (PostgreSQL only).
//
// A table that grows from empty within a sync keeps stale statistics (and autovacuum may be
// off or behind): the per-page key lookups then stop using the primary key and slow down as
// the table grows. The store therefore analyzes a table each time the rows this process
// inserted into it reach the size it had at its last analysis (at least analyzeMinRows):
// log2(N) analyses for N rows, however many walks and backfill windows insert them.
//
// Only the key columns are analyzed. The lookups need nothing else, and a full ANALYZE also
// samples the flat text columns: on 60,000 threats (577 MB with TOAST) it took 1.4 s against
// 0.15 s for (connection_id, record_key). The old rule (a full ANALYZE when one walk's inserts
// passed 1k/8k/64k/512k) ran one per backfill window: 30 windows of a 60,000-threat backfill
// spent ~30 s of a 43 s sync in ANALYZE.

// analyzeMinRows is the fewest inserted rows that trigger an analysis.
const analyzeMinRows = 1000

type tableGrowth struct {
	mu     sync.Mutex
	tables map[string]*growth
}

type growth struct {
	known      bool  // size read from pg_class
	size       int64 // rows at the last analysis (or pg_class.reltuples when first seen)
	analyzedAt int64 // size before the last requested analysis (failed restores it)
	pending    int64 // rows inserted since
}

// inserted records n rows inserted into table and analyzes it when they reach its size. If the
// table's size cannot be read, these rows go uncounted (the size is read again with the next
// page); if the analysis fails, its rows count again.
func (g *tableGrowth) inserted(ctx context.Context, s *Store, table string, n int64) {
	g.mu.Lock()
	known := g.tables[table] != nil && g.tables[table].known
	g.mu.Unlock()
	var size int64
	if !known {
		// A table that already holds many rows needs no analysis for a few more.
		var tuples float64
		if err := s.db.GetContext(ctx, &tuples, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table); err != nil {
			return // unknown still: the next page reads it again
		}
		size = int64(max(tuples, 0)) // -1: never analyzed
	}
	if !g.add(table, n, size) {
		return
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE `+table+` (connection_id, record_key)`); err != nil {
		g.failed(table)
	}
}

// failed undoes the add that asked for an analysis which then failed: the rows count again.
func (g *tableGrowth) failed(table string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.tables[table]
	t.pending += t.size - t.analyzedAt
	t.size = t.analyzedAt
}

// add counts n rows inserted into table (size: its pg_class size, if it was not known yet);
// true when the caller should analyze it (the count then starts again).
func (g *tableGrowth) add(table string, n, size int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tables == nil {
		g.tables = map[string]*growth{}
	}
	t := g.tables[table]
	if t == nil {
		t = &growth{}
		g.tables[table] = t
	}
	if !t.known {
		t.known, t.size = true, size
	}
	t.pending += n
	if t.pending < max(analyzeMinRows, t.size) {
		return false
	}
	t.analyzedAt = t.size
	t.size += t.pending
	t.pending = 0
	return true
}
