package store

import (
	"context"
	"errors"
	"fmt"
)

// Overlapping page commits (PostgreSQL).
//
// A walk commits its pages in order, and a page's checkpoint must never pass a page that is not
// stored. Committed one after another, though, a walk's pages all go through one PostgreSQL
// backend, and the bench (bench/results.md) showed that backend as the bound of a full sync:
// the worker and the simulator together used about half a core. So a walk may start committing
// page N+1 while page N still commits: N+1 writes its rows on its own connection, then waits for
// N's outcome before it touches the checkpoint. If N committed, N+1 re-reads the checkpoint,
// advances it and commits; if N failed, N+1 rolls back. Commits therefore still happen in walk
// order, and a crash leaves the checkpoint after the last page whose predecessors all committed.
//
// The one hazard is a lock cycle PostgreSQL cannot see: N+1 waits in Go for N while holding
// locks on its own rows, so N must never need one of them. Before its checkpoint step a page
// locks rows of its own record keys only (record rows, quarantine rows, outbox rows), so the
// caller must not overlap two pages that share a key. A full walk's last page marks every row
// the walk did not see as removed, which touches other rows, but it does so after its
// predecessor committed, and nothing follows it. As a safety net, every page transaction gives
// up on a row lock after pageLockTimeout (the walk then retries from its checkpoint).
//
// A page may also be committed in parts (Page.Part), chained the same way: the parts hold
// disjoint keys of one page, only the last moves the cursor, and a crash between them re-reads
// the page (the committed parts' rows are then unchanged; the walk's unchanged count includes
// them a second time, its inserted and updated counts stay exact).

// pageLockTimeout bounds a page transaction's wait for a row lock (PostgreSQL).
const pageLockTimeout = "120s"

// ErrPreviousPageFailed means a page was rolled back because the page before it did not commit.
var ErrPreviousPageFailed = errors.New("the walk's previous page did not commit")

// PendingCommit is a page commit running in the background (StartCommit).
type PendingCommit struct {
	committed chan struct{} // closed when the page's transaction ended
	commitErr error         // why it did not commit; read after committed is closed
	done      chan struct{} // closed when StartCommit's work is over (after the ANALYZE hint)
	pc        PageCounts
	err       error
}

// Done is closed when the commit is over (Wait then returns at once).
func (c *PendingCommit) Done() <-chan struct{} { return c.done }

// Wait blocks until the commit is over and returns what CommitPage would have.
func (c *PendingCommit) Wait() (PageCounts, error) {
	<-c.done
	return c.pc, c.err
}

// waitCommitted blocks until the page's transaction ended; nil when it committed.
func (c *PendingCommit) waitCommitted(ctx context.Context) error {
	select {
	case <-c.committed:
		if c.commitErr != nil {
			return fmt.Errorf("%w: %v", ErrPreviousPageFailed, c.commitErr)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DefaultPageCommits is how many pages commit at once on PostgreSQL by default, per walk and
// per worker (SYNC_PAGE_COMMITS). BenchmarkCommitPageAgents on the 2-core bench host (the store
// alone): 2,704 rec/s one at a time, 3,846 with two, 4,412 with three, 4,506 with four. In the
// full bench, where the worker, the simulator, Temporal and PostgreSQL share those 2 cores,
// three let the threats and alerts backfills (2 windows each) run 6 commits at once: threats
// peaked at 232 MB RSS and, capped at 3 per worker, the host was so loaded that heartbeats
// timed out and a threats walk was retried. Two is the default; a larger PostgreSQL host can
// take more.
const DefaultPageCommits = 2

// PageCommits is how many pages of one walk may commit at once: want (0: DefaultPageCommits)
// on PostgreSQL, one on SQLite, which has a single writer.
func (s *Store) PageCommits(want int) int {
	if !s.isPG {
		return 1
	}
	if want <= 0 {
		return DefaultPageCommits
	}
	return want
}

// StartCommit commits p as CommitPage does, in the background. When p.Prev is set, p's rows are
// written at once but its checkpoint update and commit wait for p.Prev to commit, and p rolls
// back with ErrPreviousPageFailed if p.Prev did not. p must share no record key with any page
// still pending (see the notes above).
func (s *Store) StartCommit(ctx context.Context, p *Page) *PendingCommit {
	c := &PendingCommit{committed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.pc, c.err = s.commitPage(ctx, p, func(err error) {
			c.commitErr = err
			close(c.committed)
		})
		if c.err == nil {
			s.analyzeHint(ctx, p, c.pc)
		}
	}()
	return c
}
