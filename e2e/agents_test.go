package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go.temporal.io/api/workflowservice/v1"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
)

// storedAgents returns record key → content hash of the connection's active agents, and
// the removed ones.
func (h *harness) storedAgents(id string) (active map[string]string, removed map[string]bool) {
	h.t.Helper()
	active, removed = map[string]string{}, map[string]bool{}
	err := h.store.EachRecord(context.Background(), id, model.StreamAgents, func(r *store.StoredRecord) error {
		if !r.RemovedAt.IsZero() {
			removed[r.Key] = true
			return nil
		}
		active[r.Key] = r.Hash
		return nil
	})
	require.NoError(h.t, err)
	return active, removed
}

// syncWait runs `starter sync ID --wait --json` and returns the run summary.
func (h *harness) syncWait(id string, extra ...string) model.RunSummary {
	h.t.Helper()
	out := h.mustStarter(append([]string{"sync", id, "--wait", "--json"}, extra...)...)
	var sum model.RunSummary
	require.NoError(h.t, json.Unmarshal([]byte(out), &sum), out)
	return sum
}

func streamResult(sum model.RunSummary, stream string) model.StreamResult {
	for _, s := range sum.Streams {
		if s.Stream == stream {
			return s
		}
	}
	return model.StreamResult{}
}

func TestE2EAgentsFullDeltaAndReconcile(t *testing.T) {
	const n = 5000
	h := newHarness(t, harnessOpts{agents: n})
	metricsAddr := freeAddr(t)
	h.startWorker("METRICS_ADDR=" + metricsAddr)
	h.create("acme", "--streams", "agents")

	// The first sync starts on creation; sync --wait queues one more and waits for it.
	sum := h.syncWait("acme")
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)

	truth := h.sim.Truth("agents")
	require.Len(t, truth, n)
	active, removed := h.storedAgents("acme")
	require.Equal(t, truth, active, "stored agents must equal the console's, hash for hash")
	require.Empty(t, removed)

	// The OCSF export validates line by line, one line per agent.
	v, err := ocsf.NewValidator()
	require.NoError(t, err)
	out := h.mustStarter("export", "acme", "--stream", "agents", "--format", "ocsf")
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines++
		require.NoError(t, v.Validate(5001, sc.Bytes()), "line %d", lines)
	}
	require.Equal(t, n, lines)
	// raw export is exactly what the console sent.
	raw := h.mustStarter("export", "acme", "--stream", "agents", "--format", "raw")
	rawLines := strings.Split(strings.TrimSpace(raw), "\n")
	require.Len(t, rawLines, n)
	var first struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(rawLines[0]), &first))
	want, ok := h.sim.AgentJSON(first.ID)
	require.True(t, ok)
	require.JSONEq(t, string(want), rawLines[0])

	// Change 50, add 10, remove 5; a delta sync brings exactly those changes.
	changed := h.sim.ChangeAgents(50)
	added := h.sim.AddAgents(10)
	gone := h.sim.RemoveAgents(5)
	require.Len(t, changed, 50)
	require.Len(t, added, 10)
	require.Len(t, gone, 5)
	h.sim.ResetRequests()
	sum = h.syncWait("acme")
	require.Equal(t, model.RunSuccess, sum.Status)
	sr := streamResult(sum, model.StreamAgents)
	require.Equal(t, model.ModeDelta, sr.Mode)
	require.Equal(t, int64(10), sr.Inserted, "%+v", sr)
	require.Equal(t, int64(50), sr.Updated, "%+v", sr)
	// 60 changed records fit one page: the delta needs exactly one request.
	require.Equal(t, int(sr.Pages), h.sim.CountRequests("GET", "/web/api/v2.1/agents"))
	require.Equal(t, int64(1), sr.Pages, "%+v", sr)
	active, _ = h.storedAgents("acme")
	truth = h.sim.Truth("agents")
	for _, id := range append(changed, added...) {
		require.Equal(t, truth[id], active[id], "agent %s", id)
	}

	// A full reconcile flags the removed agents; the rest equals the console's truth.
	sum = h.syncWait("acme", "--full")
	require.Equal(t, model.RunSuccess, sum.Status)
	sr = streamResult(sum, model.StreamAgents)
	require.Equal(t, model.ModeFull, sr.Mode)
	require.Equal(t, int64(5), sr.Removed)
	active, removed = h.storedAgents("acme")
	require.Equal(t, truth, active)
	require.Len(t, removed, 5)
	for _, id := range gone {
		require.True(t, removed[id], "agent %s must be flagged removed", id)
	}

	// status --json reports the state and per-stream counts.
	var st struct {
		State  model.State      `json:"state"`
		Counts map[string]int64 `json:"counts"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.mustStarter("status", "acme", "--json")), &st))
	require.Equal(t, model.StateProcessed, st.State)
	require.Equal(t, int64(n+10-5), st.Counts["agents"])

	// `temporal workflow list --query 'ConnectorState="Processed"'` finds the synced connection.
	tcli := h.rawClient()
	require.Eventually(t, func() bool {
		resp, err := tcli.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: `ConnectorState="Processed"`})
		return err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == "connection:acme"
	}, 30*time.Second, 200*time.Millisecond)

	// The worker's Prometheus counters agree with the stored rows.
	m := scrape(t, "http://"+metricsAddr+"/metrics")
	require.Equal(t, float64(n+10), m[`s1conn_records_stored_total{connection="acme",outcome="inserted",stream="agents"}`])
	require.Equal(t, float64(50), m[`s1conn_records_stored_total{connection="acme",outcome="updated",stream="agents"}`])
	require.Equal(t, float64(5), m[`s1conn_records_stored_total{connection="acme",outcome="removed",stream="agents"}`])
	require.Greater(t, m[`s1conn_api_requests_total{connection="acme",path="/agents",status="200"}`], float64(0))
	require.Greater(t, m[`s1conn_watermark_timestamp_seconds{connection="acme",stream="agents"}`], float64(0))
	runs, err := h.store.LastRuns(context.Background(), "acme", 100)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(runs), 3)
	require.Equal(t, float64(len(runs)), m[`s1conn_syncs_total{connection="acme",status="success"}`], "one per stored run")
	require.InDelta(t, 180, m[`s1conn_token_days_to_expiry{connection="acme"}`], 1.5)

	// Only GET requests (and the read-only token-details POST) reached the console.
	for _, r := range h.sim.Requests() {
		require.True(t, r.Method == "GET" || (r.Method == "POST" && strings.HasSuffix(r.Path, "/users/api-token-details")), "%s %s", r.Method, r.Path)
	}
	// The token never appears in any log line (worker at debug level, starter stderr).
	require.NotContains(t, h.logs.String(), h.token)
	require.NotContains(t, h.logs.String(), h.token[:16])
}

func TestE2EWorkerKilledMidSync(t *testing.T) {
	const n = 12000
	h := newHarness(t, harnessOpts{agents: n})
	// Slow pages so the kill lands mid-walk.
	h.sim.SetFaults(simulator.Faults{Latency: 60 * time.Millisecond})
	w := h.startWorker()
	h.create("kill", "--streams", "agents", "--skip-test")

	// Wait until a few pages are committed, then SIGKILL the worker.
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "kill") {
			if s.Stream == model.StreamAgents && s.WalkPages >= 3 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 50*time.Millisecond)
	w.kill()
	pagesAtKill := int64(0)
	for _, s := range mustStates(t, h, "kill") {
		if s.Stream == model.StreamAgents {
			pagesAtKill = s.WalkPages
		}
	}
	require.Less(t, pagesAtKill, int64(n/1000), "the kill must land mid-walk")
	h.sim.ResetRequests()
	h.startWorker()
	require.Eventually(t, func() bool {
		c, err := h.store.CountRecords(context.Background(), "kill")
		require.NoError(t, err)
		return agentsWalkDone(t, h, "kill") && len(c) > 0
	}, 5*time.Minute, 100*time.Millisecond)
	active, removed := h.storedAgents("kill")
	require.Equal(t, h.sim.Truth("agents"), active)
	require.Empty(t, removed)
	// The restarted walk resumed from its checkpoint: it did not re-read the committed pages
	// (at most the one page in flight when the worker died is read again).
	after := h.sim.CountRequests("GET", "/web/api/v2.1/agents")
	require.LessOrEqual(t, int64(after), int64(n/1000)-pagesAtKill+2, "requests after restart")
	var dup int
	require.NoError(t, h.store.DB().QueryRow(`SELECT COUNT(*) - COUNT(DISTINCT record_key) FROM agents WHERE connection_id = 'kill'`).Scan(&dup))
	require.Zero(t, dup)
}

func mustStates(t *testing.T, h *harness, id string) []*store.StreamState {
	t.Helper()
	st, err := h.store.StreamStates(context.Background(), id)
	require.NoError(t, err)
	return st
}

// agentsWalkDone reports whether connection id's agents walk has finished: none in progress,
// and a watermark set.
func agentsWalkDone(t *testing.T, h *harness, id string) bool {
	t.Helper()
	for _, s := range mustStates(t, h, id) {
		if s.Stream == model.StreamAgents {
			return s.WalkID == "" && !s.Watermark.IsZero()
		}
	}
	return false
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

var _ = fmt.Sprint
var _ = hashOf

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// scrape reads a Prometheus text endpoint into series → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndex(line, " ")
		var v float64
		_, err := fmt.Sscan(line[i+1:], &v)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func validateLines(t *testing.T, class int, lines []string) {
	t.Helper()
	v, err := ocsf.NewValidator()
	require.NoError(t, err)
	for i, l := range lines {
		require.NoError(t, v.Validate(class, []byte(l)), "line %d", i+1)
	}
}
