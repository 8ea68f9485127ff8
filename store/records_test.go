package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
)

func maxUpdated(recs ...Record) time.Time {
	var m time.Time
	for _, r := range recs {
		if r.SourceUpdatedAt.After(m) {
			m = r.SourceUpdatedAt
		}
	}
	return m
}

func TestBeginWalk(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")

		st, resumed, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "limit=1000&sortBy=updatedAt")
		require.NoError(t, err)
		assert.False(t, resumed)
		assert.Equal(t, "w1", st.WalkID)
		assert.Equal(t, model.ModeFull, st.WalkMode)
		assert.Equal(t, "limit=1000&sortBy=updatedAt", st.WalkParams)
		assert.Empty(t, st.WalkCursor)
		assert.Zero(t, st.WalkPages)
		assert.True(t, st.Watermark.IsZero())
		assert.True(t, st.WalkStartedAt.Equal(t0))
		stored0 := streamState(t, s, "c")
		assert.Equal(t, "w1", stored0.WalkID)
		assert.True(t, stored0.WalkStartedAt.Equal(t0))

		clk.advance(time.Minute)
		recs := mkRecords(0, 3, 1)
		p := pg(t, "c", "w1", true, "cursor-2", recs...)
		p.TotalItems = 10
		pc, err := s.CommitPage(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: 3}, pc)

		// A retried activity (same walk ID) resumes: pinned mode/params, cursor and counters.
		clk.advance(time.Minute)
		st, resumed, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeDelta, "other=params")
		require.NoError(t, err)
		assert.True(t, resumed)
		assert.Equal(t, "w1", st.WalkID)
		assert.Equal(t, model.ModeFull, st.WalkMode)
		assert.Equal(t, "limit=1000&sortBy=updatedAt", st.WalkParams)
		assert.Equal(t, "cursor-2", st.WalkCursor)
		assert.Equal(t, int64(1), st.WalkPages)
		assert.Equal(t, int64(3), st.WalkFetched)
		assert.Equal(t, int64(3), st.WalkInserted)
		assert.Equal(t, int64(10), st.WalkTotal)
		assert.True(t, st.WalkStartedAt.Equal(t0), "resuming keeps the walk's start")
		assert.True(t, st.WalkMaxUpdated.Equal(maxUpdated(recs...)))

		// ResetWalkCursor forgets the cursor of that walk only.
		require.NoError(t, s.ResetWalkCursor(ctx, "c", model.StreamAgents, "not-this-walk"))
		assert.Equal(t, "cursor-2", streamState(t, s, "c").WalkCursor)
		require.NoError(t, s.ResetWalkCursor(ctx, "c", model.StreamAgents, "w1"))
		st = streamState(t, s, "c")
		assert.Empty(t, st.WalkCursor)
		assert.Equal(t, int64(1), st.WalkPages)

		// A new walk ID starts afresh.
		t2 := clk.advance(time.Minute)
		st, resumed, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w2", model.ModeDelta, "updatedAt__gt=x")
		require.NoError(t, err)
		assert.False(t, resumed)
		assert.Equal(t, "w2", st.WalkID)
		assert.Equal(t, model.ModeDelta, st.WalkMode)
		assert.Equal(t, "updatedAt__gt=x", st.WalkParams)
		assert.Empty(t, st.WalkCursor)
		assert.True(t, st.WalkMaxUpdated.IsZero())
		assert.True(t, st.WalkStartedAt.Equal(t2))
		persisted := streamState(t, s, "c")
		assert.Equal(t, StreamState{ConnectionID: "c", Stream: model.StreamAgents, WalkID: "w2", WalkMode: model.ModeDelta,
			WalkParams: "updatedAt__gt=x", WalkStartedAt: t2, UpdatedAt: t2}, *persisted)

		// The superseded walk can no longer commit, and writes nothing.
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "cursor-3", mkRecords(3, 6, 1)...))
		require.ErrorIs(t, err, ErrWalkSuperseded)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 3}, counts(t, s, "c"))
		assert.Equal(t, *persisted, *streamState(t, s, "c"))
		// Nor can its final page mark anything removed.
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, ""))
		require.ErrorIs(t, err, ErrWalkSuperseded)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 3}, counts(t, s, "c"))

		// Another connection's walks are independent.
		mustCreateConn(t, s, "d")
		_, resumed, err = s.BeginWalk(ctx, "d", model.StreamAgents, "w2", model.ModeFull, "")
		require.NoError(t, err)
		assert.False(t, resumed)
		assert.Equal(t, "w2", streamState(t, s, "c").WalkID)
	})
}

func TestCommitPage(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeDelta, "")
		require.NoError(t, err)

		// Page 1 holds the walk's newest record (r0 in version 5).
		page1 := []Record{mkRecord(0, 5), mkRecord(1, 1), mkRecord(2, 1)}
		walkMax := maxUpdated(page1...)
		pc, err := s.CommitPage(ctx, pg(t, "c", "w1", false, "cur2", page1...))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: 3}, pc, "nothing committed yet: watermark stays zero")
		before := stored(t, s, "c")
		require.Len(t, before, 3)

		// Re-committing the same page changes nothing but last_seen_at.
		t1 := clk.advance(time.Minute)
		pc, err = s.CommitPage(ctx, pg(t, "c", "w1", false, "cur2", page1...))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Unchanged: 3}, pc)
		after := stored(t, s, "c")
		require.Len(t, after, 3)
		for k, b := range before {
			a := after[k]
			require.NotNil(t, a, k)
			assert.Equal(t, b.Hash, a.Hash)
			assert.Equal(t, b.Raw, a.Raw)
			assert.Equal(t, b.OCSF, a.OCSF)
			assert.Equal(t, b.Flat, a.Flat)
			assert.True(t, a.FirstSeen.Equal(t0), "first_seen_at %v", a.FirstSeen)
			assert.True(t, a.LastSeen.Equal(t1), "last_seen_at %v", a.LastSeen)
			assert.True(t, a.RemovedAt.IsZero())
		}

		// A changed hash is an update; a key twice in one page is stored once, the last one winning.
		t2 := clk.advance(time.Minute)
		page2 := []Record{mkRecord(1, 2), mkRecord(3, 1), mkRecord(2, 1), mkRecord(3, 2)}
		pc, err = s.CommitPage(ctx, pg(t, "c", "w1", false, "cur3", page2...))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: 1, Updated: 1, Unchanged: 1}, pc)
		got := stored(t, s, "c")
		require.Len(t, got, 4)
		r1, r3 := mkRecord(1, 2), mkRecord(3, 2)
		assert.Equal(t, r1.Hash, got[r1.Key].Hash)
		assertJSONEq(t, r1.Raw, got[r1.Key].Raw)
		assertJSONEq(t, r1.OCSF, got[r1.Key].OCSF)
		assert.True(t, got[r1.Key].FirstSeen.Equal(t0), "an update keeps first_seen_at")
		assert.True(t, got[r1.Key].LastSeen.Equal(t2))
		assert.True(t, got[r1.Key].Flat["updated_at"].(time.Time).Equal(*flatTime(r1, "updated_at")))
		assert.Equal(t, r3.Hash, got[r3.Key].Hash, "the last duplicate wins")
		assertJSONEq(t, r3.Raw, got[r3.Key].Raw)
		assert.True(t, got[r3.Key].FirstSeen.Equal(t2))
		st := streamState(t, s, "c")
		assert.True(t, st.Watermark.IsZero(), "the watermark moves only on the walk's last page")
		assert.True(t, st.WalkMaxUpdated.Equal(walkMax))
		assert.Equal(t, "cur3", st.WalkCursor)

		// The last page moves the watermark to the newest record the whole walk committed.
		t3 := clk.advance(time.Minute)
		pc, err = s.CommitPage(ctx, pg(t, "c", "w1", false, "", mkRecord(4, 1)))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: 1, Watermark: walkMax}, pc)
		st = streamState(t, s, "c")
		assert.True(t, st.Watermark.Equal(walkMax), "watermark %v, want %v", st.Watermark, walkMax)
		assert.Empty(t, st.WalkID, "the walk is over")
		assert.Empty(t, st.WalkCursor)
		assert.True(t, st.LastFullAt.IsZero(), "a delta walk is not a full one")
		assert.Equal(t, int64(4), st.WalkPages)
		assert.Equal(t, int64(3+3+4+1), st.WalkFetched)
		assert.Equal(t, int64(3+0+1+1), st.WalkInserted)
		assert.Equal(t, int64(1), st.WalkUpdated)
		assert.Equal(t, int64(3+1), st.WalkUnchanged)
		assert.True(t, st.UpdatedAt.Equal(t3))
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 5, Active: 5}, counts(t, s, "c"))

		// The watermark never goes back: an empty walk and a walk of older records keep it.
		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w2", model.ModeDelta, "")
		require.NoError(t, err)
		pc, err = s.CommitPage(ctx, pg(t, "c", "w2", false, ""))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Watermark: walkMax}, pc)
		st, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w3", model.ModeDelta, "")
		require.NoError(t, err)
		assert.True(t, st.Watermark.Equal(walkMax), "BeginWalk returns the committed watermark")
		pc, err = s.CommitPage(ctx, pg(t, "c", "w3", false, "", mkRecord(9, 0)))
		require.NoError(t, err)
		assert.True(t, pc.Watermark.Equal(walkMax))
		assert.True(t, streamState(t, s, "c").Watermark.Equal(walkMax))

		// A newer record moves it forward.
		newer := mkRecord(2, 9)
		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w4", model.ModeDelta, "")
		require.NoError(t, err)
		pc, err = s.CommitPage(ctx, pg(t, "c", "w4", false, "", newer))
		require.NoError(t, err)
		assert.True(t, pc.Watermark.Equal(newer.SourceUpdatedAt))
		assert.Equal(t, int64(1), pc.Updated)
	})
}

func flatTime(r Record, col string) *time.Time {
	i := slices.Index(ocsf.HostAssetColumns(), col)
	return r.Flat[i].(*time.Time)
}

func TestFullWalkMarksRemoved(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		mustCreateConn(t, s, "other")
		r0, r1, r2 := mkRecord(0, 1), mkRecord(1, 1), mkRecord(2, 1)

		walk := func(conn, id, mode string, pages ...[]Record) PageCounts {
			t.Helper()
			_, resumed, err := s.BeginWalk(ctx, conn, model.StreamAgents, id, mode, "")
			require.NoError(t, err)
			require.False(t, resumed)
			var sum PageCounts
			for i, recs := range pages {
				next := "more"
				if i == len(pages)-1 {
					next = ""
				}
				pc, err := s.CommitPage(ctx, pg(t, conn, id, mode == model.ModeFull, next, recs...))
				require.NoError(t, err)
				if next != "" {
					assert.Zero(t, pc.Removed, "only the last page removes")
				}
				sum.Inserted += pc.Inserted
				sum.Updated += pc.Updated
				sum.Unchanged += pc.Unchanged
				sum.Removed += pc.Removed
				sum.Watermark = pc.Watermark
			}
			return sum
		}

		// The other connection holds the same keys; c's full walks must not touch its rows.
		walk("other", "wo", model.ModeFull, []Record{r0, r1})

		tw1 := clk.advance(time.Minute)
		pc := walk("c", "w1", model.ModeFull, []Record{r0, r1}, []Record{r2})
		assert.Equal(t, PageCounts{Inserted: 3, Watermark: maxUpdated(r0, r1, r2)}, pc)
		assert.True(t, streamState(t, s, "c").LastFullAt.Equal(tw1), "last_full_at is the walk's start")

		// r1 is not seen by the next full walk: it is marked removed when that walk ends.
		tw2 := clk.advance(time.Minute)
		pc = walk("c", "w2", model.ModeFull, []Record{r0}, []Record{r2})
		assert.Equal(t, int64(1), pc.Removed)
		assert.Equal(t, int64(2), pc.Unchanged)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 2, Removed: 1}, counts(t, s, "c"))
		got := stored(t, s, "c")
		assert.True(t, got[r1.Key].RemovedAt.Equal(tw2), "removed_at %v", got[r1.Key].RemovedAt)
		assert.True(t, got[r0.Key].RemovedAt.IsZero())
		assert.True(t, got[r2.Key].RemovedAt.IsZero())
		assert.True(t, streamState(t, s, "c").LastFullAt.Equal(tw2))
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 2, Active: 2}, counts(t, s, "other"))

		// A delta walk removes nothing, and a removed row stays removed until it is seen again.
		clk.advance(time.Minute)
		pc = walk("c", "w3", model.ModeDelta, []Record{r0})
		assert.Zero(t, pc.Removed)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 2, Removed: 1}, counts(t, s, "c"))
		assert.True(t, streamState(t, s, "c").LastFullAt.Equal(tw2), "a delta walk keeps last_full_at")

		// r1 reappears (same content): it is un-removed and counted as updated.
		clk.advance(time.Minute)
		pc = walk("c", "w4", model.ModeFull, []Record{r0, r1, r2})
		assert.Equal(t, int64(1), pc.Updated)
		assert.Equal(t, int64(2), pc.Unchanged)
		assert.Zero(t, pc.Removed)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 3}, counts(t, s, "c"))
		assert.True(t, stored(t, s, "c")[r1.Key].RemovedAt.IsZero())

		// An empty full walk removes everything of that connection only.
		clk.advance(time.Minute)
		pc = walk("c", "w5", model.ModeFull, nil)
		assert.Equal(t, int64(3), pc.Removed)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Removed: 3}, counts(t, s, "c"))
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 2, Active: 2}, counts(t, s, "other"))
	})
}

func TestCommitPageIsAtomic(t *testing.T) {
	t.Parallel()
	hostnameIdx := slices.Index(ocsf.HostAssetColumns(), "hostname")
	require.GreaterOrEqual(t, hostnameIdx, 0)

	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "c1", mkRecord(0, 1), mkRecord(1, 1)))
		require.NoError(t, err)
		stBefore := streamState(t, s, "c")
		recBefore := stored(t, s, "c")
		unchanged := func(what string) {
			t.Helper()
			assert.Equal(t, *stBefore, *streamState(t, s, "c"), "%s: checkpoint changed", what)
			assert.Equal(t, recBefore, stored(t, s, "c"), "%s: rows changed", what)
		}

		// A record with the wrong number of flat values fails the whole page.
		clk.advance(time.Minute)
		bad := mkRecord(3, 1)
		bad.Flat = bad.Flat[:5]
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "c2", mkRecord(2, 1), mkRecord(0, 2), bad))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "flat values")
		unchanged("short Flat")

		// A database error (NULL into a NOT NULL column) on the last page: no watermark, no removals.
		nullHost := mkRecord(5, 1)
		nullHost.Flat[hostnameIdx] = nil
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "", mkRecord(2, 1), nullHost))
		require.Error(t, err)
		unchanged("NULL hostname on the last page")

		// A failure in a later statement of a chunked page rolls back the earlier statements too.
		big := mkRecords(100, 800, 1)
		big[650].Flat[hostnameIdx] = nil
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "c2", big...))
		require.Error(t, err)
		unchanged("NULL hostname in the second chunk")

		// The walk goes on from where it was.
		pc, err := s.CommitPage(ctx, pg(t, "c", "w1", true, "", mkRecord(2, 1)))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: 1, Watermark: maxUpdated(mkRecord(0, 1), mkRecord(1, 1), mkRecord(2, 1))}, pc)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 3, Active: 3}, counts(t, s, "c"))
	})
}

// flatWant converts a HostAsset value to what EachRecord returns for it.
func flatWant(v any) any {
	if p, ok := v.(*time.Time); ok {
		if p == nil {
			return nil
		}
		return *p
	}
	return v
}

func TestLargePageRoundTrip(t *testing.T) {
	t.Parallel()
	const n = 1000
	cols := ocsf.HostAssetColumns()
	require.Greater(t, n*(len(commonColumns)+len(cols)), maxParams, "the page must need more than one statement")

	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		mustCreateConn(t, s, "other")

		recs := mkRecords(0, n, 1)
		want := make(map[string]Record, n)
		keys := make([]string, 0, n)
		for _, r := range recs {
			want[r.Key] = r
			keys = append(keys, r.Key)
		}
		slices.Sort(keys)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })

		_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
		require.NoError(t, err)
		pc, err := s.CommitPage(ctx, pg(t, "c", "w1", true, "next", recs...))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Inserted: n}, pc)
		// Another connection's rows must not show up in c's stream.
		_, _, err = s.BeginWalk(ctx, "other", model.StreamAgents, "wo", model.ModeFull, "")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "other", "wo", true, "", mkRecord(5, 3), mkRecord(n+1, 1)))
		require.NoError(t, err)

		var gotKeys []string
		err = s.EachRecord(ctx, "c", model.StreamAgents, func(r *StoredRecord) error {
			gotKeys = append(gotKeys, r.Key)
			w, ok := want[r.Key]
			if !assert.True(t, ok, "unexpected key %s", r.Key) {
				return nil
			}
			assert.Equal(t, w.Hash, r.Hash)
			if s.IsPostgres() {
				assertJSONEq(t, w.Raw, r.Raw, "raw of %s", r.Key)
				assertJSONEq(t, w.OCSF, r.OCSF, "ocsf of %s", r.Key)
			} else {
				assert.True(t, bytes.Equal(w.Raw, r.Raw), "raw of %s: %s", r.Key, r.Raw)
				assert.True(t, bytes.Equal(w.OCSF, r.OCSF), "ocsf of %s: %s", r.Key, r.OCSF)
			}
			assert.True(t, r.FirstSeen.Equal(t0) && r.LastSeen.Equal(t0), "first/last seen %v %v", r.FirstSeen, r.LastSeen)
			assert.True(t, r.RemovedAt.IsZero())
			assert.Len(t, r.Flat, len(cols))
			for i, c := range cols {
				got, ok := r.Flat[c]
				if !assert.True(t, ok, "%s: column %s missing", r.Key, c) {
					continue
				}
				exp := flatWant(w.Flat[i])
				if et, ok := exp.(time.Time); ok {
					gt, ok := got.(time.Time)
					if assert.True(t, ok, "%s.%s: got %T %v, want a time", r.Key, c, got, got) {
						assert.True(t, et.Equal(gt), "%s.%s: got %v, want %v", r.Key, c, gt, et)
						assert.Equal(t, time.UTC, gt.Location(), "%s.%s is not in UTC: %v", r.Key, c, gt)
					}
					continue
				}
				assert.Equal(t, exp, got, "%s.%s (%T)", r.Key, c, got)
			}
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, keys, gotKeys, "EachRecord streams every record once, in key order")

		// Re-committing the whole page as the walk's last is all Unchanged and removes nothing.
		t1 := clk.advance(time.Minute)
		pc, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "", recs...))
		require.NoError(t, err)
		assert.Equal(t, PageCounts{Unchanged: n, Watermark: maxUpdated(recs...)}, pc)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: n, Active: n}, counts(t, s, "c"))
		seen := 0
		require.NoError(t, s.EachRecord(ctx, "c", model.StreamAgents, func(r *StoredRecord) error {
			seen++
			assert.True(t, r.LastSeen.Equal(t1))
			return nil
		}))
		assert.Equal(t, n, seen)

		// An error from fn stops the stream and is returned; the store stays usable (SQLite has one connection).
		errStop := errors.New("stop")
		calls := 0
		err = s.EachRecord(ctx, "c", model.StreamAgents, func(*StoredRecord) error {
			calls++
			if calls == 10 {
				return errStop
			}
			return nil
		})
		require.ErrorIs(t, err, errStop)
		assert.Equal(t, 10, calls)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: n, Active: n}, counts(t, s, "c"))

		require.Error(t, s.EachRecord(ctx, "c", "nope", func(*StoredRecord) error { return nil }))
	})
}

func TestStreamStatesAndCounts(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, _ := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")

		sts, err := s.StreamStates(ctx, "c")
		require.NoError(t, err)
		assert.Empty(t, sts)
		cs, err := s.CountRecords(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, []StreamCount{{Stream: model.StreamAgents}, {Stream: model.StreamAlerts}, {Stream: model.StreamApplications}, {Stream: model.StreamThreats}, {Stream: model.StreamVulnerabilities}, {Stream: model.StreamXDRAssets}}, cs, "every registered stream is counted, even when empty")

		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "a=b")
		require.NoError(t, err)
		_, _, err = s.BeginWalk(ctx, "c2", model.StreamAgents, "wx", model.ModeFull, "")
		require.NoError(t, err)
		sts, err = s.StreamStates(ctx, "c")
		require.NoError(t, err)
		require.Len(t, sts, 1)
		assert.Equal(t, "c", sts[0].ConnectionID)
		assert.Equal(t, model.StreamAgents, sts[0].Stream)
		assert.Equal(t, "w1", sts[0].WalkID)
		assert.Equal(t, "a=b", sts[0].WalkParams)

		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "", mkRecords(0, 4, 1)...))
		require.NoError(t, err)
		cs, err = s.CountRecords(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, []StreamCount{{Stream: model.StreamAgents, Total: 4, Active: 4}, {Stream: model.StreamAlerts}, {Stream: model.StreamApplications}, {Stream: model.StreamThreats}, {Stream: model.StreamVulnerabilities}, {Stream: model.StreamXDRAssets}}, cs)
		cs, err = s.CountRecords(ctx, "c2")
		require.NoError(t, err)
		assert.Equal(t, []StreamCount{{Stream: model.StreamAgents}, {Stream: model.StreamAlerts}, {Stream: model.StreamApplications}, {Stream: model.StreamThreats}, {Stream: model.StreamVulnerabilities}, {Stream: model.StreamXDRAssets}}, cs)
	})
}

// Count and Earliest read a connection's present records only (the alerts delta weighs its
// refresh with them).
func TestCountAndEarliest(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, _ := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		table := agentsTable(t)
		at, err := s.Earliest(ctx, table, "c", "source_updated_at")
		require.NoError(t, err)
		assert.True(t, at.IsZero(), "no records: %v", at)

		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "", mkRecords(0, 10, 1)...))
		require.NoError(t, err)
		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w2", model.ModeFull, "")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "c", "w2", true, "", mkRecords(3, 10, 1)...)) // 0-2 are removed
		require.NoError(t, err)

		at, err = s.Earliest(ctx, table, "c", "source_updated_at")
		require.NoError(t, err)
		assert.True(t, at.Equal(mkRecord(3, 1).SourceUpdatedAt), "earliest present: %v", at)
		n, err := s.Count(ctx, table, "c", "")
		require.NoError(t, err)
		assert.Equal(t, int64(7), n)
		n, err = s.Count(ctx, table, "c", "source_updated_at >= ?", mkRecord(8, 1).SourceUpdatedAt)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
		n, err = s.Count(ctx, table, "other", "")
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}
