package store_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/proccpu"
	"github.com/sentinelone-connector/s1conn/internal/testenv"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
)

// agentPages fetches n pages of simulated agents and transforms them as the agents stream does.
func agentPages(b *testing.B, n int) [][]store.Record {
	b.Helper()
	sim := simulator.New(simulator.Options{Agents: n * 1000, Seed: 7})
	srv, err := sim.Start(false)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := sentinelone.New(sentinelone.Options{ConsoleURL: srv.URL, Token: simulator.DefaultToken, AllowInsecureHTTP: true})
	if err != nil {
		b.Fatal(err)
	}
	var pages [][]store.Record
	meta := ocsf.Meta{ConnectionID: "bench", ConsoleURL: srv.URL, Now: time.Now().UTC()}
	err = c.Walk(context.Background(), "/agents", url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "sortOrder": {"asc"}}, "",
		func(p *sentinelone.Page) error {
			recs := make([]store.Record, 0, len(p.Data))
			for _, raw := range p.Data {
				r, err := ocsf.Agent(raw, meta)
				if err != nil {
					return err
				}
				recs = append(recs, store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: r.UpdatedAt, Raw: raw, OCSF: r.Event, Flat: r.Flat.Values()})
			}
			pages = append(pages, recs)
			return nil
		})
	if err != nil {
		b.Fatal(err)
	}
	var raw, ev int
	for _, r := range pages[0] {
		raw, ev = raw+len(r.Raw), ev+len(r.OCSF)
	}
	b.Logf("%d pages; average raw %d B, OCSF %d B per record", len(pages), raw/len(pages[0]), ev/len(pages[0]))
	return pages
}

// BenchmarkCommitPageAgents measures the store's write path alone (PostgreSQL): a full walk of
// fresh agents committed page by page, against the COPY of the same rows into an UNLOGGED
// table without indexes (the benchmark's write-only ceiling). Reported as records/s.
func BenchmarkCommitPageAgents(b *testing.B) {
	const npages = 20
	pages := agentPages(b, npages)
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	table, _ := store.TableFor("agents")
	run := 0
	pg := proccpu.Postmaster(ctx, st.DB().DB)
	b.Run("commit", func(b *testing.B) {
		cpu0, pg0 := proccpu.Self(), proccpu.Server(pg)
		for range b.N {
			run++
			conn := fmt.Sprintf("c%d", run)
			walk := conn + ":w"
			if _, _, err := st.BeginWalk(ctx, conn, "agents", walk, "full", ""); err != nil {
				b.Fatal(err)
			}
			for j, recs := range pages {
				next := "more"
				if j == len(pages)-1 {
					next = ""
				}
				if _, err := st.CommitPage(ctx, &store.Page{ConnectionID: conn, Table: table, WalkID: walk, Full: true,
					NextCursor: next, Fetched: int64(len(recs)), Records: recs}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*npages*1000)/b.Elapsed().Seconds(), "rec/s")
		// The connector's own CPU for a record (this process; PostgreSQL runs in its own).
		b.ReportMetric(float64((proccpu.Self()-cpu0).Microseconds())/float64(b.N*npages*1000), "client-µs/rec")
		reportServerCPU(b, pg, pg0, b.N*npages*1000)
	})
	// As walks commit on PostgreSQL: up to Store.PageCommits pages at once, in walk order.
	b.Run("commit-overlapped", func(b *testing.B) {
		pg0 := proccpu.Server(pg)
		for range b.N {
			run++
			conn := fmt.Sprintf("c%d", run)
			walk := conn + ":w"
			if _, _, err := st.BeginWalk(ctx, conn, "agents", walk, "full", ""); err != nil {
				b.Fatal(err)
			}
			var pending []*store.PendingCommit
			for j, recs := range pages {
				next := "more"
				if j == len(pages)-1 {
					next = ""
				}
				if len(pending) >= st.PageCommits(0) {
					if _, err := pending[0].Wait(); err != nil {
						b.Fatal(err)
					}
					pending = pending[1:]
				}
				p := &store.Page{ConnectionID: conn, Table: table, WalkID: walk, Full: true,
					NextCursor: next, Fetched: int64(len(recs)), Records: recs}
				if len(pending) > 0 {
					p.Prev = pending[len(pending)-1]
				}
				pending = append(pending, st.StartCommit(ctx, p))
			}
			for _, c := range pending {
				if _, err := c.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*npages*1000)/b.Elapsed().Seconds(), "rec/s")
		reportServerCPU(b, pg, pg0, b.N*npages*1000)
	})
	// A delta page: every record of a stored page changed (the update path: the stored rows
	// deleted, the page COPYed). On the 2-core Intel host of that change: 3,336 rec/s with the
	// multi-row upsert it replaced, 5,116 with it (2 parts: 5,270 → 8,550). COPY into a
	// temporary table + UPDATE … FROM had been tried before and was slower than the upsert.
	// parts > 1 commits the page as a delta walk does when
	// nothing else of it is committing: in parts (store.Page.Part), written in parallel on as
	// many connections.
	updatePage := func(b *testing.B, parts int) {
		b.StopTimer()
		run++
		conn := fmt.Sprintf("c%d", run)
		if _, _, err := st.BeginWalk(ctx, conn, "agents", conn+":w0", "full", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := st.CommitPage(ctx, &store.Page{ConnectionID: conn, Table: table, WalkID: conn + ":w0", Full: true,
			Fetched: 1000, Records: pages[0]}); err != nil {
			b.Fatal(err)
		}
		for i := range b.N {
			recs := make([]store.Record, len(pages[0]))
			for j, r := range pages[0] {
				r.Hash = fmt.Sprintf("%s-%d", r.Hash, i)
				recs[j] = r
			}
			walk := fmt.Sprintf("%s:w%d", conn, i+1)
			if _, _, err := st.BeginWalk(ctx, conn, "agents", walk, "delta", ""); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			var prev *store.PendingCommit
			var commits []*store.PendingCommit
			for j := range parts {
				p := &store.Page{ConnectionID: conn, Table: table, WalkID: walk, Records: recs[j*len(recs)/parts : (j+1)*len(recs)/parts],
					Part: j < parts-1, Prev: prev}
				if !p.Part {
					p.Fetched = 1000
				}
				prev = st.StartCommit(ctx, p)
				commits = append(commits, prev)
			}
			var updated int64
			for _, c := range commits {
				pc, err := c.Wait()
				if err != nil {
					b.Fatal(err)
				}
				updated += pc.Updated
			}
			b.StopTimer()
			if updated != 1000 {
				b.Fatal("updated", updated)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rec/s")
	}
	b.Run("update-page", func(b *testing.B) { updatePage(b, 1) })
	b.Run("update-page-2-parts", func(b *testing.B) { updatePage(b, 2) })
	b.Run("update-page-4-parts", func(b *testing.B) { updatePage(b, 4) })
	copyInto := func(b *testing.B, name, ddl string) {
		db := st.DB()
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			b.Fatal(err)
		}
		cols := append([]string{"connection_id", "record_key", "content_hash", "source_updated_at", "first_seen_at",
			"last_seen_at", "removed_at", "seen_walk", "raw", "ocsf"}, table.FlatColumns...)
		now := time.Now().UTC()
		pg0 := proccpu.Server(pg)
		for range b.N {
			run++
			conn := fmt.Sprintf("c%d", run)
			for _, recs := range pages {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				stmt, err := tx.Prepare(store.CopyStatement(name, cols))
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					args := append([]any{conn, r.Key, r.Hash, r.SourceUpdatedAt, now, now, nil, "w", string(r.Raw), string(r.OCSF)}, r.Flat...)
					if _, err := stmt.Exec(args...); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := stmt.Exec(); err != nil {
					b.Fatal(err)
				}
				_ = stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*npages*1000)/b.Elapsed().Seconds(), "rec/s")
		reportServerCPU(b, pg, pg0, b.N*npages*1000)
	}
	// The ceiling of make bench: the same columns (and compression), no WAL, no indexes.
	b.Run("copy-unlogged", func(b *testing.B) {
		copyInto(b, "agents_ceiling", `CREATE UNLOGGED TABLE IF NOT EXISTS agents_ceiling (LIKE agents INCLUDING DEFAULTS INCLUDING COMPRESSION)`)
	})
	// What WAL costs: a logged table without indexes.
	b.Run("copy-logged", func(b *testing.B) {
		copyInto(b, "agents_logged", `CREATE TABLE IF NOT EXISTS agents_logged (LIKE agents INCLUDING DEFAULTS INCLUDING COMPRESSION)`)
	})
	// What the indexes add: the agents table's exact definition.
	b.Run("copy-indexed", func(b *testing.B) {
		copyInto(b, "agents_indexed", `CREATE TABLE IF NOT EXISTS agents_indexed (LIKE agents INCLUDING ALL)`)
	})
}

// reportServerCPU reports the PostgreSQL server's CPU a row since pg0 (all its processes: the
// backends, the WAL writer, the checkpointer; none when the server is not visible here).
func reportServerCPU(b *testing.B, postmaster int, pg0 time.Duration, rows int) {
	if postmaster != 0 {
		b.ReportMetric(float64((proccpu.Server(postmaster)-pg0).Microseconds())/float64(rows), "pg-µs/rec")
	}
}
