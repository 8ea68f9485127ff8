package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/internal/testenv"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/simulator"
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
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "tr") {
			if s.Stream == model.StreamAgents && s.WalkID == "" && !s.Watermark.IsZero() {
				return true
			}
		}
		return false
	}, 4*time.Minute, 100*time.Millisecond)
	active, _ := h.storedAgents("tr")
	require.Equal(t, h.sim.Truth("agents"), active)
	c, err := h.store.CountRecords(context.Background(), "tr")
	require.NoError(t, err)
	require.Equal(t, int64(10000), c[0].Active)
}
