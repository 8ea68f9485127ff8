package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
)

// TestQuarantine: unreadable records are kept as received, counted, not flagged removed by a
// full walk when an older version is stored, and cleared when a readable version is stored.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		r0, r1, r2 := mkRecord(0, 1), mkRecord(1, 1), mkRecord(2, 1)
		walk := func(id string, recs []Record, bad ...Quarantined) PageCounts {
			t.Helper()
			_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, id, model.ModeFull, "")
			require.NoError(t, err)
			p := pg(t, "c", id, true, "", recs...)
			p.Quarantined = bad
			pc, err := s.CommitPage(ctx, p)
			require.NoError(t, err)
			return pc
		}
		pc := walk("w1", []Record{r0, r1, r2})
		require.Equal(t, int64(3), pc.Inserted)

		// r1 arrives unreadable: quarantined as received; its stored version is not removed.
		clk.advance(time.Minute)
		bad := Quarantined{Key: r1.Key, Raw: []byte(`{"id":"1","updatedAt":"yesterday"}`), Error: "field updatedAt"}
		pc = walk("w2", []Record{r0, r2}, bad)
		assert.Equal(t, int64(1), pc.Quarantined)
		assert.Zero(t, pc.Removed, "a quarantined record is still on the console")
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 3}, counts(t, s, "c"))
		held, err := s.QuarantineCounts(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{model.StreamAgents: 1}, held)
		q, err := s.QuarantinedRecords(ctx, "c", model.StreamAgents)
		require.NoError(t, err)
		require.Len(t, q, 1)
		assert.Equal(t, bad.Raw, q[0].Raw)
		assert.Equal(t, bad.Error, q[0].Error)
		assert.Equal(t, r1.Key, q[0].Key)

		// Quarantined again: one row, last seen moves.
		seen := clk.advance(time.Minute)
		walk("w3", []Record{r0, r2}, bad)
		q, err = s.QuarantinedRecords(ctx, "c", "")
		require.NoError(t, err)
		require.Len(t, q, 1)
		assert.True(t, q[0].LastSeen.Equal(seen), "last seen %v", q[0].LastSeen)

		// A readable version clears it.
		clk.advance(time.Minute)
		walk("w4", []Record{r0, r1, r2})
		held, err = s.QuarantineCounts(ctx, "c")
		require.NoError(t, err)
		assert.Empty(t, held)

		// Outside a walk (the alerts' refresh): quarantined, then cleared by an upsert of the key.
		require.NoError(t, s.Quarantine(ctx, model.StreamAgents, "c", []Quarantined{bad}))
		held, err = s.QuarantineCounts(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, map[string]int64{model.StreamAgents: 1}, held)
		_, err = s.UpsertRecords(ctx, agentsTable(t), "c", []Record{r1}, nil)
		require.NoError(t, err)
		held, err = s.QuarantineCounts(ctx, "c")
		require.NoError(t, err)
		assert.Empty(t, held)
	})
}

// TestCopyFallsBackOnConflict: a key inserted by another writer after CommitPage looked for
// existing rows makes the page's COPY fail on the primary key; the page is then upserted in the
// same transaction and nothing is lost or duplicated.
func TestCopyFallsBackOnConflict(t *testing.T) {
	t.Parallel()
	s, _ := openClocked(t, postgresNonUTC(t))
	ctx := t.Context()
	mustCreateConn(t, s, "c")
	recs := mkRecords(0, 40, 2)
	s.beforeCopy = func() {
		s.beforeCopy = nil
		_, err := s.UpsertRecords(ctx, agentsTable(t), "c", []Record{mkRecord(7, 1)}, nil)
		require.NoError(t, err)
	}
	_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w", model.ModeFull, "")
	require.NoError(t, err)
	pc, err := s.CommitPage(ctx, pg(t, "c", "w", true, "", recs...))
	require.NoError(t, err)
	assert.Equal(t, int64(40), pc.Inserted+pc.Updated)
	got := stored(t, s, "c")
	require.Len(t, got, 40)
	for _, r := range recs {
		assert.Equal(t, r.Hash, got[r.Key].Hash, "record %s holds the page's version", r.Key)
	}
}

// TestChangedRowsReplacedByCopy: a page of changed records, enough to be COPYed, replaces the
// stored rows: content, last_seen_at and seen_walk are the page's, first_seen_at is kept to
// the microsecond (in a session whose time zone is not UTC), and records a full walk had
// marked removed come back. If another writer inserts one of the page's new keys meanwhile,
// the COPY fails and the whole page — the delete of the old versions undone — goes through
// the upsert, with the same result.
func TestChangedRowsReplacedByCopy(t *testing.T) {
	t.Parallel()
	for _, conflict := range []bool{false, true} {
		t.Run(fmt.Sprintf("conflict=%v", conflict), func(t *testing.T) {
			t.Parallel()
			s, clk := openClocked(t, postgresNonUTC(t))
			ctx := t.Context()
			mustCreateConn(t, s, "c")
			first := clk.advance(123456 * time.Microsecond)
			_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
			require.NoError(t, err)
			_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "", mkRecords(0, 40, 1)...))
			require.NoError(t, err)
			clk.advance(time.Minute)
			_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w2", model.ModeFull, "")
			require.NoError(t, err)
			pc, err := s.CommitPage(ctx, pg(t, "c", "w2", true, "", mkRecords(0, 30, 1)...))
			require.NoError(t, err)
			require.Equal(t, int64(10), pc.Removed)

			later := clk.advance(time.Minute)
			page := append(mkRecords(0, 40, 2), mkRecords(40, 45, 1)...) // 40 changed, 5 new
			copies := 0                                                  // the page takes the COPY path (5 new rows alone would be upserted)
			s.beforeCopy = func() {
				copies++
				if conflict {
					s.beforeCopy = nil
					_, err := s.UpsertRecords(ctx, agentsTable(t), "c", []Record{mkRecord(42, 1)}, nil)
					require.NoError(t, err)
				}
			}
			_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w3", model.ModeDelta, "")
			require.NoError(t, err)
			pc, err = s.CommitPage(ctx, pg(t, "c", "w3", false, "", page...))
			require.NoError(t, err)
			assert.Equal(t, 1, copies)
			assert.Equal(t, int64(45), pc.Inserted+pc.Updated)
			if !conflict {
				assert.Equal(t, PageCounts{Inserted: 5, Updated: 40, Watermark: pc.Watermark}, pc)
			}
			got := stored(t, s, "c")
			require.Len(t, got, 45)
			for _, r := range page {
				g := got[r.Key]
				require.NotNil(t, g, r.Key)
				assert.Equal(t, r.Hash, g.Hash, "record %s holds the page's version", r.Key)
				assertJSONEq(t, r.Raw, g.Raw)
				assert.True(t, g.LastSeen.Equal(later), "last_seen_at %v", g.LastSeen)
				assert.True(t, g.RemovedAt.IsZero(), "record %s is not removed", r.Key)
			}
			for i := range 40 {
				k := mkRecord(i, 2).Key
				assert.True(t, got[k].FirstSeen.Equal(first), "record %s keeps first_seen_at %v, has %v", k, first, got[k].FirstSeen)
			}
			for i := 40; i < 45; i++ {
				k := mkRecord(i, 1).Key
				if !(conflict && i == 42) {
					assert.True(t, got[k].FirstSeen.Equal(later), "new record %s first seen %v", k, got[k].FirstSeen)
				}
			}
		})
	}
}
