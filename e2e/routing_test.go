package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/examples/triage"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/routing"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
)

// receiver is a webhook endpoint that verifies every signature.
type receiver struct {
	secret    []byte
	failFirst int32 // answer 500 to this many requests first
	never     bool  // never recover
	delay     time.Duration
	calls     atomic.Int32
	mu        sync.Mutex
	ok        map[string]int // delivery id → accepted deliveries
	keys      map[string]bool
	badSig    int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	n := r.calls.Add(1)
	if r.delay > 0 {
		time.Sleep(r.delay) // simulated receiver work (not a test synchronisation)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !routing.Verify(r.secret, req.Header.Get(routing.HeaderTimestamp), body, req.Header.Get(routing.HeaderSignature)) {
		r.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if r.never || n <= r.failFirst {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var b struct {
		RecordKey string          `json:"recordKey"`
		Event     json.RawMessage `json:"event"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Event) == 0 {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.ok[req.Header.Get(routing.HeaderDelivery)]++
	r.keys[b.RecordKey] = true
	w.WriteHeader(http.StatusNoContent)
}

func newReceiver(t *testing.T, secret string, failFirst int32, never bool, delay time.Duration) (*receiver, *httptest.Server) {
	r := &receiver{secret: []byte(secret), failFirst: failFirst, never: never, delay: delay, ok: map[string]int{}, keys: map[string]bool{}}
	srv := httptest.NewTLSServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func caFileOf(t *testing.T, dir string, srv *httptest.Server) string {
	p := filepath.Join(dir, "hook-ca-"+strings.TrimPrefix(srv.URL, "https://127.0.0.1:")+".pem")
	der := srv.TLS.Certificates[0].Certificate[0]
	require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return p
}

func (h *harness) envValue(name string) string {
	for _, kv := range h.env {
		if strings.HasPrefix(kv, name+"=") {
			return strings.TrimPrefix(kv, name+"=")
		}
	}
	return ""
}

// userWorker runs the example triage workflows, as a SOC's own worker would.
func (h *harness) userWorker(t *testing.T) client.Client {
	keys, err := codec.ParseKeyRing(h.envValue("CONNECTOR_ENCRYPTION_KEY"))
	require.NoError(t, err)
	c, err := client.Dial(client.Options{HostPort: h.dev.FrontendHostPort(), Namespace: "default", DataConverter: codec.NewDataConverter(keys)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	w := worker.New(c, triage.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(triage.TriageThreat, workflow.RegisterOptions{Name: triage.TriageWorkflow})
	w.RegisterWorkflowWithOptions(triage.CloseThreat, workflow.RegisterOptions{Name: triage.CloseWorkflow})
	w.RegisterActivity(&triage.Activities{})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return c
}

func countWorkflows(t *testing.T, c client.Client, query string) int64 {
	resp, err := c.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default", Query: query})
	require.NoError(t, err)
	return resp.Count
}

func routeCounts(t *testing.T, h *harness, id string) map[string]store.RouteCount {
	rc, err := h.store.OutboxCounts(context.Background(), id)
	require.NoError(t, err)
	out := map[string]store.RouteCount{}
	for _, r := range rc {
		out[r.RouteID] = r
	}
	return out
}

func TestE2ERoutingWorkflowsAndWebhooks(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 200, sim: simulator.Options{Threats: 300, ThreatSpan: 2 * 24 * time.Hour}})
	const secret = "hook-secret-0123456789"
	h.env = append(h.env, "HOOK_SECRET="+secret)
	good, goodSrv := newReceiver(t, secret, 3, false, 15*time.Millisecond) // fails 3 times, then recovers
	dead, deadSrv := newReceiver(t, secret, 0, true, 0)                    // never recovers
	routes := fmt.Sprintf(`{"threats": [
		{"name": "triage", "on": ["new", "changed"], "workflow": {"type": %q, "taskQueue": %q}},
		{"name": "close", "on": ["resolved"], "workflow": {"type": %q, "taskQueue": %q}},
		{"name": "hook", "on": ["new"], "webhook": {"url": %q, "secretEnv": "HOOK_SECRET", "caFile": %q}},
		{"name": "dead", "on": ["resolved"], "webhook": {"url": %q, "secretEnv": "HOOK_SECRET", "caFile": %q, "maxAttempts": 3}}]}`,
		triage.TriageWorkflow, triage.TaskQueue, triage.CloseWorkflow, triage.TaskQueue,
		goodSrv.URL+"/hook", caFileOf(t, h.dir, goodSrv), deadSrv.URL+"/hook", caFileOf(t, h.dir, deadSrv))
	rf := filepath.Join(h.dir, "routes.json")
	require.NoError(t, os.WriteFile(rf, []byte(routes), 0o600))
	user := h.userWorker(t)
	w := h.startWorker()
	h.create("rt", "--streams", "threats", "--lookback", "3d", "--routes-file", rf)
	require.Equal(t, model.RunSuccess, h.syncWait("rt").Status)
	require.Empty(t, routeCounts(t, h, "rt"), "the backfill does not flood automation")

	// 500 new threats → 500 TriageThreat starts and 500 signed webhooks; the worker dies mid-drain.
	h.sim.AddThreats(500)
	h.mustStarter("sync", "rt")
	require.Eventually(t, func() bool {
		c := routeCounts(t, h, "rt")["threats/hook"]
		return c.Delivered >= 50 && c.Pending > 0
	}, 2*time.Minute, 5*time.Millisecond)
	w.kill()
	h.startWorker()
	require.Equal(t, model.RunSuccess, h.syncWait("rt").Status)
	require.Eventually(t, func() bool {
		c := routeCounts(t, h, "rt")
		return c["threats/triage"].Delivered == 500 && c["threats/hook"].Delivered == 500
	}, 3*time.Minute, 50*time.Millisecond)
	require.Eventually(t, func() bool { return countWorkflows(t, user, "WorkflowType = 'TriageThreat'") == 500 }, time.Minute, 100*time.Millisecond)

	// 50 resolved → exactly 50 CloseThreat starts; the never-recovering hook dead-letters them.
	h.sim.ResolveThreats(50)
	require.Equal(t, model.RunSuccess, h.syncWait("rt").Status)
	require.Eventually(t, func() bool {
		c := routeCounts(t, h, "rt")
		return c["threats/close"].Delivered == 50 && c["threats/dead"].Dead == 50
	}, 3*time.Minute, 100*time.Millisecond)
	require.Eventually(t, func() bool { return countWorkflows(t, user, "WorkflowType = 'CloseThreat'") == 50 }, time.Minute, 100*time.Millisecond)
	require.Equal(t, int64(500), countWorkflows(t, user, "WorkflowType = 'TriageThreat'"), "resolutions do not re-trigger triage")

	// A re-sync of unchanged data starts nothing more.
	require.Equal(t, model.RunSuccess, h.syncWait("rt").Status)
	require.Equal(t, int64(500), countWorkflows(t, user, "WorkflowType = 'TriageThreat'"))
	require.Equal(t, int64(50), countWorkflows(t, user, "WorkflowType = 'CloseThreat'"))

	good.mu.Lock()
	require.Zero(t, good.badSig, "every signature verifies")
	require.Len(t, good.keys, 500, "the recovering receiver got every event")
	dups := 0
	for _, n := range good.ok {
		dups += n - 1
	}
	good.mu.Unlock()
	// Webhooks are at-least-once across a crash (the delivery ID is the idempotency key): at most
	// the deliveries in flight when the worker was killed can repeat.
	require.LessOrEqual(t, dups, 8)
	dead.mu.Lock()
	require.Zero(t, dead.badSig)
	dead.mu.Unlock()

	// Dead letters are visible in status.
	out := h.mustStarter("status", "rt")
	require.Contains(t, out, "threats/dead")
	require.Contains(t, out, "dead letter")
	var st struct {
		Routes []store.RouteCount `json:"routes"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.mustStarter("status", "rt", "--json")), &st))
	require.NotEmpty(t, st.Routes)

	// Replay re-delivers on purpose: a new generation of starts for the last day's changes.
	var changed int64
	require.NoError(t, h.store.DB().QueryRow(`SELECT COUNT(*) FROM threats WHERE connection_id = 'rt' AND source_updated_at >= $1`,
		time.Now().Add(-time.Hour)).Scan(&changed))
	require.GreaterOrEqual(t, changed, int64(500), "the 500 new threats at least")
	var replay struct {
		Queued int64 `json:"queued"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.mustStarter("routes", "replay", "rt", "--since", "1h", "--route", "threats/close", "--json")), &replay))
	require.Equal(t, changed, replay.Queued, "every record changed in the last hour, once")
	require.Eventually(t, func() bool { return countWorkflows(t, user, "WorkflowType = 'CloseThreat'") == 50+changed }, 2*time.Minute, 100*time.Millisecond)
}

func TestE2EInvalidRoutesFiles(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 10})
	cases := map[string]struct{ doc, want string }{
		"unknown trigger":    {`{"threats": [{"on": ["created"], "workflow": {"type": "T", "taskQueue": "q"}}]}`, `unknown trigger "created"`},
		"missing task queue": {`{"threats": [{"on": ["new"], "workflow": {"type": "T"}}]}`, "workflow.taskQueue is missing"},
		"http webhook":       {`{"threats": [{"on": ["new"], "webhook": {"url": "http://soar.example/hook", "secretEnv": "S"}}]}`, "plain http"},
		"no destination":     {`{"threats": [{"on": ["new"]}]}`, "no destination"},
		"unknown field":      {`{"threats": [{"on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}, "retries": 3}]}`, "unknown field"},
		"unroutable stream":  {`{"agents": [{"on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}}]}`, "cannot be routed"},
		"stream not synced":  {`{"alerts": [{"on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}}]}`, "does not enable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(h.dir, strings.ReplaceAll(name, " ", "-")+".json")
			require.NoError(t, os.WriteFile(p, []byte(tc.doc), 0o600))
			_, errOut, code := h.starter("connection", "create", "--id", "bad", "--console-url", h.srv.URL, "--ca-file", h.caFile,
				"--token-file", h.tokenFile, "--streams", "threats", "--routes-file", p)
			require.Equal(t, 2, code, errOut)
			require.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
			require.Contains(t, errOut, tc.want)
		})
	}
	conns, err := h.store.ListConnections(context.Background())
	require.NoError(t, err)
	require.Empty(t, conns, "nothing was created")
}
