package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/internal/testenv"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
	"github.com/sentinelone-connector/s1conn/workflows"
)

// faultScale multiplies the fault suite's sizes: `make test-faults` sets FAULT_SCALE=10.
func faultScale() int {
	if n, err := strconv.Atoi(os.Getenv("FAULT_SCALE")); err == nil && n > 0 {
		return n
	}
	return 1
}

// TestE2EFaultsFlakyConsole: 30% 5xx, 429 bursts with and without Retry-After, dropped
// connections mid-body, truncated JSON and latency spikes. Every stream ends equal to the
// console's truth: 0 lost, 0 duplicated.
func TestE2EFaultsFlakyConsole(t *testing.T) {
	k := faultScale()
	h := newHarness(t, harnessOpts{agents: 6000 * k, sim: simulator.Options{Threats: 2000 * k, Alerts: 1000 * k, ThreatSpan: 5 * 24 * time.Hour}})
	h.startWorker()
	h.create("flaky", "--streams", "agents,threats,alerts", "--lookback", "6d", "--skip-test")
	require.Equal(t, model.RunSuccess, h.syncWait("flaky").Status, "a clean first sync")
	for round, f := range []simulator.Faults{
		{ErrorRatio: 0.3, Latency: 3 * time.Millisecond},
		{RateLimitRatio: 0.3, DropRatio: 0.1, TruncateRatio: 0.1},
		{ErrorRatio: 0.15, Status503: true, RateLimitRatio: 0.15, DropRatio: 0.05, TruncateRatio: 0.05, Latency: 20 * time.Millisecond},
	} {
		h.sim.SetRateLimits(false, round%2 == 1) // 429s with Retry-After on odd rounds
		h.sim.SetFaults(f)
		{
			h.sim.ChangeAgents(200)
			h.sim.AddAgents(50)
			h.sim.ResolveThreats(100)
			h.sim.AddThreats(100)
			h.sim.AddAlerts(100)
		}
		sum := h.syncWait("flaky", "--full")
		require.Equal(t, model.RunSuccess, sum.Status, "round %d: %+v", round, sum)
		h.sim.SetFaults(simulator.Faults{})
		active, _ := h.storedAgents("flaky")
		require.Equal(t, h.sim.Truth("agents"), active, "round %d agents", round)
		require.Equal(t, h.sim.Truth("threats"), h.stored("flaky", model.StreamThreats), "round %d threats", round)
		require.Equal(t, h.sim.Truth("alerts"), h.stored("flaky", model.StreamAlerts), "round %d alerts", round)
	}
	// The watermark never passed uncommitted data: a final clean delta finds nothing missing.
	sum := h.syncWait("flaky")
	require.Equal(t, model.RunSuccess, sum.Status)
	require.Zero(t, streamResult(sum, model.StreamAgents).Inserted)
}

// TestE2EInvalidCursorRestartsFromCheckpoint: a saved cursor the console rejects (400) makes the
// walk restart from its pinned filters; the result still equals the truth.
func TestE2EInvalidCursorRestartsFromCheckpoint(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 8000})
	h.sim.SetFaults(simulator.Faults{Latency: 60 * time.Millisecond})
	h.startWorker()
	h.create("cur", "--streams", "agents", "--skip-test")
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "cur") {
			if s.Stream == model.StreamAgents && s.WalkPages >= 2 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 20*time.Millisecond)
	h.mustStarter("connection", "pause", "cur")
	// The pause cancels the sync, which ends only once its walks stopped writing.
	require.Eventually(t, func() bool {
		var st struct {
			State    model.State   `json:"state"`
			Workflow *model.Status `json:"workflow"`
		}
		out, _, code := h.starter("status", "cur", "--json")
		return code == 0 && json.Unmarshal([]byte(out), &st) == nil && st.State == model.StatePaused &&
			st.Workflow != nil && st.Workflow.LastRun != nil && st.Workflow.LastRun.Status == "canceled"
	}, time.Minute, 50*time.Millisecond)
	// Corrupt the saved cursor as an expired one would be.
	res, err := h.store.DB().Exec(`UPDATE stream_state SET walk_cursor = 'ZXhwaXJlZA==' WHERE connection_id = 'cur' AND stream = 'agents' AND walk_id IS NOT NULL`)
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	require.Equal(t, int64(1), n, "the walk must still be in progress")
	h.sim.SetFaults(simulator.Faults{})
	h.mustStarter("connection", "resume", "cur")
	sum := h.syncWait("cur")
	require.Equal(t, model.RunSuccess, sum.Status)
	active, _ := h.storedAgents("cur")
	require.Equal(t, h.sim.Truth("agents"), active)
	require.Contains(t, h.logs.String(), "saved cursor rejected")
}

// TestE2ETwoWorkersOneKilled: two workers share the task queue; one dies mid-sync.
func TestE2ETwoWorkersOneKilled(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	h := newHarness(t, harnessOpts{agents: 10000, sim: simulator.Options{Threats: 3000, ThreatSpan: 3 * 24 * time.Hour}})
	h.sim.SetFaults(simulator.Faults{Latency: 40 * time.Millisecond})
	workers := []*proc{h.startWorker(), h.startWorker()}
	h.create("two", "--streams", "agents,threats", "--lookback", "4d", "--skip-test")
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "two") {
			if s.WalkPages >= 2 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 20*time.Millisecond)
	workers[rng.IntN(2)].kill()
	h.sim.SetFaults(simulator.Faults{})
	sum := h.syncWait("two")
	require.Equal(t, model.RunSuccess, sum.Status)
	active, _ := h.storedAgents("two")
	require.Equal(t, h.sim.Truth("agents"), active)
	require.Equal(t, h.sim.Truth("threats"), h.stored("two", model.StreamThreats))
}

// TestE2ETemporalRestartMidSync: the dev server (persistent SQLite file) stops mid-sync and
// comes back on the same address; the worker reconnects and the sync completes exactly.
func TestE2ETemporalRestartMidSync(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 10000})
	dbFile := h.dir + "/temporal.db"
	h.dev = testenv.DevServer(t, dbFile)
	addr := h.dev.FrontendHostPort()
	h.setTemporal(addr)
	h.sim.SetFaults(simulator.Faults{Latency: 50 * time.Millisecond})
	h.startWorker()
	h.create("tr", "--streams", "agents", "--skip-test")
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "tr") {
			if s.Stream == model.StreamAgents && s.WalkPages >= 2 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 20*time.Millisecond)
	require.NoError(t, h.dev.Stop())
	h.dev = testenv.DevServerAt(t, addr, dbFile)
	h.sim.SetFaults(simulator.Faults{})
	require.Eventually(t, func() bool { return agentsWalkDone(t, h, "tr") }, 4*time.Minute, 100*time.Millisecond)
	active, _ := h.storedAgents("tr")
	require.Equal(t, h.sim.Truth("agents"), active)
	c, err := h.store.CountRecords(context.Background(), "tr")
	require.NoError(t, err)
	require.Equal(t, int64(10000), c[0].Active)
}

// TestE2ETemporalStallDoesNotRestartWalks: the worker's connection to Temporal stalls (no byte
// moves, the connection stays open) for longer than the 2 s heartbeat throttle but within the
// heartbeat timeout. The walk goes on meanwhile, its heartbeats fail and are retried, and it
// finishes in the same attempt once Temporal answers again: every page is read once. (Before the
// walks sent their own heartbeats, the SDK cancelled the walk 2 s into any stall, because it gives
// a heartbeat RPC only the throttle interval, and Temporal's retry re-read the pages in flight.)
func TestE2ETemporalStallDoesNotRestartWalks(t *testing.T) {
	const agents = 40000
	h := newHarness(t, harnessOpts{agents: agents})
	proxy := testenv.NewStallProxy(t, h.dev.FrontendHostPort())
	h.sim.SetFaults(simulator.Faults{Latency: 250 * time.Millisecond})
	// A 20 s heartbeat timeout gives each heartbeat RPC 5 s: a stall is seen well within the walk.
	h.startWorker("TEMPORAL_ADDRESS="+proxy.Addr(), "SYNC_HEARTBEAT_TIMEOUT=20s")
	h.create("stall", "--streams", "agents", "--skip-test")
	pages := func() int64 {
		for _, s := range mustStates(t, h, "stall") {
			if s.Stream == model.StreamAgents {
				return s.WalkPages
			}
		}
		return 0
	}
	require.Eventually(t, func() bool { return pages() >= 2 }, 2*time.Minute, 20*time.Millisecond)
	proxy.Stall()
	stalledAt := pages()
	require.Eventually(t, func() bool { return strings.Contains(h.logs.String(), "heartbeat did not reach Temporal") },
		time.Minute, 50*time.Millisecond, "a heartbeat must fail while Temporal stalls, and the walk must still be running")
	require.Greater(t, pages(), stalledAt, "the walk went on while Temporal stalled")
	require.Less(t, pages(), int64(agents/1000), "the stall was seen mid-walk")
	proxy.Resume()
	require.Eventually(t, func() bool { return agentsWalkDone(t, h, "stall") }, 4*time.Minute, 100*time.Millisecond)
	active, _ := h.storedAgents("stall")
	require.Equal(t, h.sim.Truth("agents"), active)
	listed := 0
	for _, r := range h.sim.Requests() {
		if r.Method == "GET" && r.Path == simulator.APIPrefix+"/agents" && strings.Contains(r.RawQuery, "limit=1000") {
			listed++ // pages of the walk, not the plan's limit=1 totals
		}
	}
	require.Equal(t, agents/1000, listed, "every page read once: the walk was not restarted")
	logs := h.logs.String()
	require.NotContains(t, logs, "RecordActivityHeartbeat with error", "the SDK sent no heartbeat, so it cancelled nothing")
	require.Equal(t, 1, strings.Count(logs, "stream walk starting"), "one attempt walked the stream")
}

// faultSeed is FAULT_SEED when set, else a fresh seed; it is logged so a failing run can be
// replayed with the same kill points.
func faultSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULT_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "FAULT_SEED must be an unsigned integer")
		seed = n
	}
	t.Logf("seed %d (replay with FAULT_SEED=%d)", seed, seed)
	return seed
}

// agentsState reads the agents checkpoint of a connection; errors are returned (not fatal)
// for callers that poll while the database may be down.
func (h *harness) agentsState(id string) (*store.StreamState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sts, err := h.store.StreamStates(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, s := range sts {
		if s.Stream == model.StreamAgents {
			return s, nil
		}
	}
	return &store.StreamState{}, nil
}

// workflowStatus is the connection workflow's status query through `starter status --json`
// (nil while it cannot be answered: no worker, database down).
func (h *harness) workflowStatus(id string) *model.Status {
	out, _, code := h.starter("status", id, "--json")
	var st struct {
		Workflow *model.Status `json:"workflow"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		return nil
	}
	return st.Workflow
}

// requestSync signals a sync without waiting and returns its request ID.
func (h *harness) requestSync(id string, extra ...string) string {
	h.t.Helper()
	var res struct {
		RequestID string `json:"requestId"`
	}
	out := h.mustStarter(append([]string{"sync", id, "--json"}, extra...)...)
	require.NoError(h.t, json.Unmarshal([]byte(out), &res), out)
	require.NotEmpty(h.t, res.RequestID, out)
	return res.RequestID
}

// waitRun waits for the first finished sync after seq `after` (serving requestID when set) and
// returns its summary. The workflow is queried, so this rides out worker and database restarts.
func (h *harness) waitRun(id string, after int64, requestID string, within time.Duration) model.RunSummary {
	h.t.Helper()
	var sum model.RunSummary
	require.Eventually(h.t, func() bool {
		st := h.workflowStatus(id)
		if st == nil || st.LastRun == nil || st.LastRun.Seq <= after {
			return false
		}
		if requestID != "" && !slices.Contains(st.LastRun.RequestIDs, requestID) {
			return false
		}
		sum = *st.LastRun
		return true
	}, within, 250*time.Millisecond, "sync after #%d of %s did not finish", after, id)
	return sum
}

// assertAgentsExact: the stored agents are the console's, hash for hash (0 lost), the removed
// ones exactly those removed at the console, one row per key (0 duplicated), and the watermark
// covers only committed data.
func (h *harness) assertAgentsExact(id string, removedWant map[string]bool, what string) {
	h.t.Helper()
	truth := h.sim.Truth("agents")
	active, removed := h.storedAgents(id)
	lost, wrong := 0, 0
	for k, hash := range truth {
		switch got, ok := active[k]; {
		case !ok:
			lost++
		case got != hash:
			wrong++
		}
	}
	require.Zero(h.t, lost, "%s: agents lost", what)
	require.Zero(h.t, wrong, "%s: agents stored with stale content", what)
	require.Equal(h.t, truth, active, "%s: stored agents equal the console's", what)
	require.Equal(h.t, removedWant, removed, "%s: agents flagged removed", what)
	var dup int
	require.NoError(h.t, h.store.DB().QueryRow(`SELECT COUNT(*) - COUNT(DISTINCT record_key) FROM agents WHERE connection_id = $1`, id).Scan(&dup))
	require.Zero(h.t, dup, "%s: duplicated agent rows", what)
	h.assertWatermarkCovered(id, truth, active, what)
}

// assertWatermarkCovered: the committed watermark never passes data that was not committed.
// Every console agent updated at or before it is stored exactly as the console has it (a delta
// starting there cannot miss it), and it is no later than the newest committed source timestamp.
func (h *harness) assertWatermarkCovered(id string, truth, active map[string]string, what string) time.Time {
	h.t.Helper()
	st, err := h.agentsState(id)
	require.NoError(h.t, err)
	wm := st.Watermark
	if wm.IsZero() {
		return wm
	}
	var newest sql.NullTime
	require.NoError(h.t, h.store.DB().QueryRow(`SELECT MAX(source_updated_at) FROM agents WHERE connection_id = $1`, id).Scan(&newest))
	require.True(h.t, newest.Valid && !wm.After(newest.Time), "%s: watermark %s is past the newest committed agent (%v)", what, wm, newest.Time)
	for k, hash := range truth {
		if active[k] == hash {
			continue
		}
		raw, ok := h.sim.AgentJSON(k)
		require.True(h.t, ok, k)
		var a struct {
			UpdatedAt time.Time `json:"updatedAt"`
		}
		require.NoError(h.t, json.Unmarshal(raw, &a), k)
		require.True(h.t, a.UpdatedAt.After(wm), "%s: agent %s (updatedAt %s) is not stored as the console has it, yet the watermark %s covers it",
			what, k, a.UpdatedAt, wm)
	}
	return wm
}

// TestE2EPostgresRestartMidSync: the connector's PostgreSQL (a private cluster: the shared
// server serves other packages) crashes mid full walk (`pg_ctl stop -m immediate`) and comes
// back. The worker survives, the walk's activity fails on the database and is retried, resumes
// from the last committed page, and the stored agents equal the console's.
func TestE2EPostgresRestartMidSync(t *testing.T) {
	k := faultScale()
	n := 10000 * k
	pg := testenv.StartPostgres(t)
	h := newHarness(t, harnessOpts{agents: n, dbURL: pg.CreateDatabase("s1conn")})
	h.sim.SetFaults(simulator.Faults{Latency: 100 * time.Millisecond}) // the walk takes a while
	w := h.startWorker()
	t0 := time.Now()
	h.create("pgr", "--streams", "agents", "--skip-test")
	var pagesAtCrash int64
	require.Eventually(t, func() bool {
		st, err := h.agentsState("pgr")
		if err == nil && st.WalkID != "" && st.WalkPages >= 2 {
			pagesAtCrash = st.WalkPages
			return true
		}
		return false
	}, 3*time.Minute, 20*time.Millisecond, "pages are being committed")
	reqAtCrash := h.agentWalkRequests()
	require.NoError(t, pg.Stop("immediate"))
	crashedAt := time.Now()
	// The worker notices: the walk's commit fails, and Temporal's retries of the activity cannot
	// reach the database. Stay down until two attempts failed that way.
	refused := pg.Addr() + ": connect: connection refused"
	require.Eventually(t, func() bool { return activityErrors(h.logs.String(), refused) >= 2 }, 2*time.Minute, 50*time.Millisecond,
		"the worker never retried the walk against the stopped database")
	require.NoError(t, pg.Start())
	t.Logf("PostgreSQL down for %s after %d committed pages; activity errors while down: %d", time.Since(crashedAt).Round(time.Millisecond),
		pagesAtCrash, activityErrors(h.logs.String(), ""))
	select {
	case err := <-w.done:
		t.Fatalf("the worker exited while the database was down: %v", err)
	default:
	}
	h.sim.SetFaults(simulator.Faults{})
	sum := h.waitRun("pgr", 0, "", 10*time.Minute)
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)
	sr := streamResult(sum, model.StreamAgents)
	require.Equal(t, model.ModeFull, sr.Mode)
	require.True(t, sr.Resumed, "the walk resumed from its checkpoint after the restart")
	require.Equal(t, int64(n), sr.Inserted, "%+v", sr)
	require.Zero(t, sr.Updated, "%+v", sr)
	// Only the pages after the last committed one were read again, plus the ones the walk's
	// pipeline held: one fetched, one being transformed and SYNC_PAGE_COMMITS being committed.
	after := int64(h.agentWalkRequests() - reqAtCrash)
	inFlight := int64(2 + store.DefaultPageCommits)
	require.LessOrEqual(t, after, sr.Pages-pagesAtCrash+inFlight, "requests after the crash (pages %d, %d committed at the crash)", sr.Pages, pagesAtCrash)
	h.assertAgentsExact("pgr", map[string]bool{}, "after the restart")
	// The watermark passed nothing uncommitted: a clean delta finds nothing new.
	d := h.syncWait("pgr")
	require.Equal(t, model.RunSuccess, d.Status)
	dr := streamResult(d, model.StreamAgents)
	require.Equal(t, model.ModeDelta, dr.Mode)
	require.Zero(t, dr.Inserted+dr.Updated, "%+v", dr)
	h.assertAgentsExact("pgr", map[string]bool{}, "after a clean delta")
	require.Contains(t, pg.Log(), "database system was not properly shut down; automatic recovery in progress",
		"the restart replayed the WAL of a crashed server")
	t.Logf("%d agents, %d pages, %d requests after the crash; 0 lost, 0 duplicated; %s", n, sr.Pages, after, time.Since(t0).Round(time.Second))
}

// agentWalkRequests counts the page requests of agents walks the console served (the connection
// test's limit=1 probes of /agents are not walk requests).
func (h *harness) agentWalkRequests() int {
	n := 0
	for _, r := range h.sim.Requests() {
		if r.Method == "GET" && r.Path == simulator.APIPrefix+"/agents" && strings.Contains(r.RawQuery, "limit=1000") {
			n++
		}
	}
	return n
}

// activityErrors counts the worker's "Activity error." log lines of SyncStream that contain substr.
func activityErrors(logs, substr string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "Activity error.") && strings.Contains(l, model.ActivitySyncStream) && strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// killPoint is where a trial kills the worker: once the simulator served `at` walk requests
// of the sync (mid-fetch) or once `at` pages are committed (between commits).
type killPoint struct {
	committed bool
	at        int
}

func (p killPoint) String() string {
	if p.committed {
		return fmt.Sprintf("after %d committed pages", p.at)
	}
	return fmt.Sprintf("after %d served requests", p.at)
}

// pickKill draws a kill point that lands before the walk's last page: minPages is a lower
// bound of the walk's page count.
func pickKill(rng *rand.Rand, minPages int) killPoint {
	if minPages >= 3 && rng.IntN(2) == 0 {
		// Committed pages: the next page may already be fetched, so keep two pages ahead.
		return killPoint{committed: true, at: 1 + rng.IntN(minPages-2)}
	}
	return killPoint{at: 1 + rng.IntN(max(1, minPages-1))}
}

// walkWant is what a walk must report in the run summary.
type walkWant struct {
	mode                       string
	inserted, updated, removed int
}

// TestE2EWorkerKillTrials: T trials, each a full walk (after adding, changing and removing
// agents at the console) and a delta walk (after adding and changing agents), each SIGKILLed
// at a seeded-random point (FAULT_SEED replays one) and resumed by a restarted worker. After
// every kill and every walk: 0 lost, 0 duplicated, the removed set exact, the watermark where
// the committed data is. CI: 2 trials on 4,000 agents; FAULT_SCALE=10: 10 trials on 100,000.
func TestE2EWorkerKillTrials(t *testing.T) {
	k := faultScale()
	agents, trials := 4000, 2
	if k > 1 {
		agents, trials = 10000*k, max(10, k)
	}
	deltaChanges, deltaAdds := 2000+500*k, 300*k
	fullChanges, fullAdds, fullRemoves := 300*k, 100*k, 50*k
	seed := faultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	h := newHarness(t, harnessOpts{agents: agents})
	h.sim.SetFaults(simulator.Faults{Latency: 100 * time.Millisecond}) // a kill lands mid-walk
	// A killed worker's walk resumes after the heartbeat timeout; 10s keeps the trials short.
	const hb = "SYNC_HEARTBEAT_TIMEOUT=10s"
	w := h.startWorker(hb)
	t0 := time.Now()
	removed := map[string]bool{}
	var seq int64
	kills := 0
	// run triggers one sync (after reading the checkpoint and the request count it starts from),
	// kills the worker at a seeded point of its walk, checks the checkpoint, restarts the worker
	// and checks the finished walk.
	run := func(trial int, want walkWant, minPages int, trigger func() string) {
		t.Helper()
		what := fmt.Sprintf("trial %d %s", trial, want.mode)
		walkID := workflows.WalkID("trials", seq+1, model.StreamAgents)
		before, err := h.agentsState("trials")
		require.NoError(t, err)
		base := h.agentWalkRequests()
		kp := pickKill(rng, minPages)
		started := time.Now()
		requestID := trigger()
		require.Eventually(t, func() bool {
			if kp.committed {
				st, err := h.agentsState("trials")
				return err == nil && st.WalkID == walkID && st.WalkPages >= int64(kp.at)
			}
			return h.agentWalkRequests()-base >= kp.at
		}, 10*time.Minute, 10*time.Millisecond, "%s: kill point %s", what, kp)
		w.kill()
		kills++
		reqAtKill := h.agentWalkRequests()
		st, err := h.agentsState("trials")
		require.NoError(t, err)
		require.Equal(t, walkID, st.WalkID, "%s: the kill (%s) must land mid-walk", what, kp)
		require.True(t, st.Watermark.Equal(before.Watermark), "%s: the watermark moved (%s → %s) before the walk's last page", what, before.Watermark, st.Watermark)
		truth := h.sim.Truth("agents")
		active, _ := h.storedAgents("trials")
		h.assertWatermarkCovered("trials", truth, active, what+" at the kill")
		w = h.startWorker(hb)
		sum := h.waitRun("trials", seq, requestID, 15*time.Minute)
		seq = sum.Seq
		require.Equal(t, model.RunSuccess, sum.Status, "%s: %+v", what, sum)
		sr := streamResult(sum, model.StreamAgents)
		require.Equal(t, want.mode, sr.Mode, what)
		require.True(t, sr.Resumed, "%s: the walk resumed from its checkpoint", what)
		require.Equal(t, int64(want.inserted), sr.Inserted, "%s: %+v", what, sr)
		require.Equal(t, int64(want.updated), sr.Updated, "%s: %+v", what, sr)
		require.Equal(t, int64(want.removed), sr.Removed, "%s: %+v", what, sr)
		// The restarted walk continued after the last committed page: it re-read at most the page in flight.
		after := int64(h.agentWalkRequests() - reqAtKill)
		require.GreaterOrEqual(t, after, sr.Pages-st.WalkPages, what)
		require.LessOrEqual(t, after, sr.Pages-st.WalkPages+1, "%s: requests after the restart (%d pages, %d committed at the kill)", what, sr.Pages, st.WalkPages)
		h.assertAgentsExact("trials", removed, what)
		t.Logf("%s: killed %s (%d of %d pages committed), resumed, %d requests after the restart; +%d ~%d -%d; 0 lost, 0 duplicated; %s",
			what, kp, st.WalkPages, sr.Pages, after, sr.Inserted, sr.Updated, sr.Removed, time.Since(started).Round(time.Millisecond))
	}
	for trial := range trials {
		// Full walk: the first sync (started by creating the connection), then full reconciles
		// after adding, changing and removing agents at the console.
		if trial == 0 {
			run(trial, walkWant{mode: model.ModeFull, inserted: agents}, agents/1000, func() string {
				h.create("trials", "--streams", "agents", "--skip-test")
				return ""
			})
		} else {
			changed := h.sim.ChangeAgents(fullChanges)
			added := h.sim.AddAgents(fullAdds)
			gone := h.sim.RemoveAgents(fullRemoves)
			want := walkWant{mode: model.ModeFull}
			goneSet, addedSet := map[string]bool{}, map[string]bool{}
			for _, id := range gone {
				goneSet[id] = true
			}
			for _, id := range added {
				addedSet[id] = true
				if !goneSet[id] {
					want.inserted++
				}
			}
			for _, id := range changed {
				if !goneSet[id] {
					want.updated++
				}
			}
			for _, id := range gone {
				if !addedSet[id] {
					want.removed++
					removed[id] = true
				}
			}
			run(trial, want, h.sim.AgentCount()/1000, func() string { return h.requestSync("trials", "--full") })
		}
		// Delta walk after adding and changing agents.
		changed := h.sim.ChangeAgents(deltaChanges)
		added := h.sim.AddAgents(deltaAdds)
		run(trial, walkWant{mode: model.ModeDelta, inserted: len(added), updated: len(changed)}, (len(changed)+len(added))/1000,
			func() string { return h.requestSync("trials") })
	}
	st := h.workflowStatus("trials")
	require.NotNil(t, st)
	require.NotNil(t, st.Schedule)
	require.Equal(t, 10*time.Second, st.Schedule.HeartbeatTimeout, "the worker's SYNC_HEARTBEAT_TIMEOUT reached the workflow")
	// The watermark passed nothing uncommitted: a clean delta finds nothing new.
	d := h.syncWait("trials")
	require.Equal(t, model.RunSuccess, d.Status)
	dr := streamResult(d, model.StreamAgents)
	require.Zero(t, dr.Inserted+dr.Updated, "%+v", dr)
	h.assertAgentsExact("trials", removed, "final")
	t.Logf("%d trials, %d kills, %d agents live (%d removed), seed %d; 0 lost, 0 duplicated; %s",
		trials, kills, h.sim.AgentCount(), len(removed), seed, time.Since(t0).Round(time.Second))
}
