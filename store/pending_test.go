package store

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/config"
	"github.com/sentinelone-connector/s1conn/model"
)

// overlapHooks blocks the first page's COPY until release is closed, and reports when a page
// has written its rows and waits for its predecessor.
func overlapHooks(s *Store) (copying, waiting chan struct{}, release chan struct{}) {
	copying, waiting, release = make(chan struct{}), make(chan struct{}, 4), make(chan struct{})
	first := make(chan struct{}, 1)
	first <- struct{}{}
	s.beforeCopy = func() {
		select {
		case <-first:
			close(copying)
			<-release
		default:
		}
	}
	s.beforePrevWait = func(*Page) { waiting <- struct{}{} }
	return copying, waiting, release
}

// TestOverlappingCommitsKeepWalkOrder: page 2 writes its rows while page 1 is still in its
// transaction, but its checkpoint waits: nothing of page 2 is visible before page 1 committed,
// and the checkpoint ends after page 2 with the walk's newest timestamp, which was on page 1.
// Page 2 is the last page of a full walk: it marks removed only what the walk did not see.
func TestOverlappingCommitsKeepWalkOrder(t *testing.T) {
	t.Parallel()
	s, _ := openClocked(t, postgresNonUTC(t))
	ctx := t.Context()
	mustCreateConn(t, s, "c")
	require.Equal(t, DefaultPageCommits, s.PageCommits(0))

	// An earlier walk stored key 500, which this walk will not see.
	_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w0", model.ModeFull, "")
	require.NoError(t, err)
	_, err = s.CommitPage(ctx, pg(t, "c", "w0", true, "", mkRecord(500, 1)))
	require.NoError(t, err)

	_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
	require.NoError(t, err)
	page1, page2 := mkRecords(0, 40, 9), mkRecords(40, 80, 1) // page 1 holds the newest updatedAt
	copying, waiting, release := overlapHooks(s)
	c1 := s.StartCommit(ctx, pg(t, "c", "w1", true, "cur2", page1...))
	<-copying
	p2 := pg(t, "c", "w1", true, "", page2...)
	p2.Prev = c1
	c2 := s.StartCommit(ctx, p2)
	<-waiting // page 2's rows are written, in its own transaction

	st := streamState(t, s, "c")
	assert.Equal(t, int64(0), st.WalkPages, "no page of the walk is committed yet")
	assert.Len(t, stored(t, s, "c"), 1, "neither page's rows are visible yet")

	close(release)
	pc1, err := c1.Wait()
	require.NoError(t, err)
	assert.Equal(t, int64(40), pc1.Inserted)
	pc2, err := c2.Wait()
	require.NoError(t, err)
	assert.Equal(t, int64(40), pc2.Inserted)
	assert.Equal(t, int64(1), pc2.Removed, "only the row the walk did not see is marked removed")
	assert.True(t, pc2.Watermark.Equal(maxUpdated(page1...)), "watermark %v: the walk's newest record was on page 1", pc2.Watermark)

	st = streamState(t, s, "c")
	assert.Equal(t, "w1", st.LastWalkID, "the walk completed")
	assert.Empty(t, st.WalkID)
	assert.True(t, st.Watermark.Equal(maxUpdated(page1...)))
	got := stored(t, s, "c")
	require.Len(t, got, 81)
	for _, r := range append(page1, page2...) {
		assert.True(t, got[r.Key].RemovedAt.IsZero(), "%s was seen by the walk", r.Key)
	}
	assert.False(t, got[mkRecord(500, 1).Key].RemovedAt.IsZero(), "the unseen row is removed")
}

// TestOverlappingCommitRollsBackAfterFailedPrev: when page 1 fails, page 2 (already written)
// rolls back, so the checkpoint never passes a page that is not stored.
func TestOverlappingCommitRollsBackAfterFailedPrev(t *testing.T) {
	t.Parallel()
	s, _ := openClocked(t, postgresNonUTC(t))
	ctx := t.Context()
	mustCreateConn(t, s, "c")
	_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
	require.NoError(t, err)
	copying, waiting, release := overlapHooks(s)
	ctx1, cancel1 := context.WithCancel(ctx)
	c1 := s.StartCommit(ctx1, pg(t, "c", "w1", true, "cur2", mkRecords(0, 40, 1)...))
	<-copying
	p2 := pg(t, "c", "w1", true, "cur3", mkRecords(40, 80, 1)...)
	p2.Prev = c1
	c2 := s.StartCommit(ctx, p2)
	<-waiting
	cancel1() // page 1's transaction fails (as when its connection drops)
	close(release)
	_, err = c1.Wait()
	require.Error(t, err)
	_, err = c2.Wait()
	require.ErrorIs(t, err, ErrPreviousPageFailed)

	st := streamState(t, s, "c")
	assert.Equal(t, "w1", st.WalkID, "the walk is still open")
	assert.Equal(t, int64(0), st.WalkPages)
	assert.Empty(t, st.WalkCursor, "the checkpoint did not move")
	assert.Empty(t, stored(t, s, "c"), "page 2 rolled back with page 1")

	// The walk resumes from its checkpoint: both pages again, in order, nothing duplicated.
	s.beforeCopy, s.beforePrevWait = nil, nil
	for _, p := range []*Page{pg(t, "c", "w1", true, "cur2", mkRecords(0, 40, 1)...), pg(t, "c", "w1", true, "", mkRecords(40, 80, 1)...)} {
		_, err := s.CommitPage(ctx, p)
		require.NoError(t, err)
	}
	assert.Len(t, stored(t, s, "c"), 80)
	assert.Equal(t, "w1", streamState(t, s, "c").LastWalkID)
}

// TestPendingCommitWaitHonoursContext: a page waiting for a predecessor that never finishes
// gives up when its context ends instead of holding its transaction forever.
func TestPendingCommitWaitHonoursContext(t *testing.T) {
	t.Parallel()
	stuck := &PendingCommit{committed: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := stuck.waitCommitted(ctx)
	assert.True(t, errors.Is(err, context.Canceled), "err = %v", err)
}

// The worker's default SYNC_PAGE_COMMITS is the store's DefaultPageCommits (the e2e bounds on
// pages re-read after a restart use the latter for a worker started without the variable).
func TestWorkerDefaultPageCommitsIsTheStores(t *testing.T) {
	t.Setenv("SYNC_PAGE_COMMITS", "")
	c, err := config.Load()
	require.NoError(t, err)
	require.Equal(t, DefaultPageCommits, c.PageCommits)
}

// TestPageCommittedInParts: a page split into parts (Page.Part) writes its parts in parallel;
// a part stores rows and counts but moves neither the cursor nor the page count, and never ends
// the walk. When the last part fails, the checkpoint still names the page, and re-committing it
// whole (the walk resumes there) finds the first part's rows unchanged and ends the walk.
// beforeCopy holds the first part until the last one, its rows written, has failed.
func TestPageCommittedInParts(t *testing.T) {
	t.Parallel()
	s, _ := openClocked(t, postgresNonUTC(t))
	ctx := t.Context()
	mustCreateConn(t, s, "c")
	_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "w1", model.ModeFull, "")
	require.NoError(t, err)
	_, err = s.CommitPage(ctx, pg(t, "c", "w1", true, "cur2", mkRecords(0, 10, 1)...))
	require.NoError(t, err)

	// Page 2 of 80 records (the walk's last), in two parts; the last part's transaction fails
	// after the first part's rows are written and committed.
	page := mkRecords(10, 90, 1)
	copying, waiting, release := overlapHooks(s)
	part := pg(t, "c", "w1", true, "", page[:40]...)
	part.Part, part.Fetched = true, 0
	c1 := s.StartCommit(ctx, part)
	<-copying
	last := pg(t, "c", "w1", true, "", page[40:]...)
	last.Fetched, last.Prev = 80, c1
	ctx2, cancel2 := context.WithCancel(ctx)
	c2 := s.StartCommit(ctx2, last)
	<-waiting // the last part's rows are written, waiting for the first part
	cancel2() // the last part fails while it waits (as when its connection drops)
	close(release)
	_, err = c2.Wait()
	require.Error(t, err)
	pc1, err := c1.Wait()
	require.NoError(t, err)
	assert.Equal(t, int64(40), pc1.Inserted)
	st := streamState(t, s, "c")
	assert.Equal(t, "w1", st.WalkID, "a part never ends the walk")
	assert.Equal(t, "cur2", st.WalkCursor, "a part does not move the cursor")
	assert.Equal(t, int64(1), st.WalkPages)
	assert.Equal(t, int64(10), st.WalkFetched, "the page's records count with its last part")
	assert.Equal(t, int64(50), st.WalkInserted, "the part's rows count")
	assert.Len(t, stored(t, s, "c"), 50, "the first part is stored; the last rolled back")

	// The walk resumes at its checkpoint: the page again, whole.
	s.beforeCopy, s.beforePrevWait = nil, nil
	pc, err := s.CommitPage(ctx, pg(t, "c", "w1", true, "", page...))
	require.NoError(t, err)
	assert.Equal(t, PageCounts{Inserted: 40, Unchanged: 40, Watermark: pc.Watermark}, pc)
	st = streamState(t, s, "c")
	assert.Equal(t, "w1", st.LastWalkID, "the walk completed")
	assert.Empty(t, st.WalkID)
	assert.True(t, st.Watermark.Equal(maxUpdated(page...)))
	// The walk's counts: inserted is exact (90 rows, each once); the first part's 40 rows,
	// inserted before the failure, count again as unchanged when the page is re-read.
	assert.Equal(t, int64(90), st.WalkInserted)
	assert.Equal(t, int64(40), st.WalkUnchanged)
	assert.Equal(t, int64(90), st.WalkFetched)
	got := stored(t, s, "c")
	require.Len(t, got, 90)
	for _, r := range got {
		assert.True(t, r.RemovedAt.IsZero(), "%s was seen by the walk", r.Key)
	}
}
