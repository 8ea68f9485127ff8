package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/simulator"
)

// rawClient talks to the dev server WITHOUT the payload codec: what an attacker with access to
// Temporal would see.
func (h *harness) rawClient() client.Client {
	h.t.Helper()
	c, err := client.Dial(client.Options{HostPort: h.dev.FrontendHostPort(), Namespace: "default"})
	require.NoError(h.t, err)
	h.t.Cleanup(c.Close)
	return c
}

func (h *harness) state(id string) model.State {
	h.t.Helper()
	var st struct {
		State model.State `json:"state"`
	}
	out, _, code := h.starter("status", id, "--json")
	if code != 0 {
		return ""
	}
	require.NoError(h.t, json.Unmarshal([]byte(out), &st))
	return st.State
}

// walkRequests counts the paged walk requests (limit=1000), leaving out connection-check probes.
func walkRequests(sim *simulator.Simulator, path string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method == "GET" && r.Path == "/web/api/v2.1"+path && strings.Contains(r.RawQuery, "limit=1000") {
			n++
		}
	}
	return n
}

func TestE2ETokenRevokedMidSyncThenRotated(t *testing.T) {
	const n = 12000
	h := newHarness(t, harnessOpts{agents: n})
	h.sim.SetFaults(simulator.Faults{Latency: 40 * time.Millisecond})
	h.startWorker()
	h.create("rot", "--streams", "agents")
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "rot") {
			if s.Stream == model.StreamAgents && s.WalkPages >= 3 {
				return true
			}
		}
		return false
	}, 2*time.Minute, 20*time.Millisecond)
	h.sim.RevokeToken(h.token)
	require.Eventually(t, func() bool { return h.state("rot") == model.StateAuthFailed }, 2*time.Minute, 100*time.Millisecond)

	var st struct {
		State     model.State      `json:"state"`
		LastError *model.ErrorInfo `json:"lastError"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.mustStarter("status", "rot", "--json")), &st))
	require.NotNil(t, st.LastError)
	require.Equal(t, model.ErrTypeAuth, st.LastError.Type)
	require.Contains(t, st.LastError.Remediation, "starter rotate-token")

	// Pages stored before the revocation are kept.
	var pagesBefore int64
	for _, s := range mustStates(t, h, "rot") {
		if s.Stream == model.StreamAgents {
			pagesBefore = s.WalkPages
		}
	}
	require.GreaterOrEqual(t, pagesBefore, int64(3))
	require.Less(t, pagesBefore, int64(n/1000))
	active, _ := h.storedAgents("rot")
	require.Equal(t, int(pagesBefore)*1000, len(active))

	// The workflow list finds it by state.
	raw := h.rawClient()
	require.Eventually(t, func() bool {
		resp, err := raw.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "default", Query: `ConnectorState="AuthFailed" AND ConnectionID="rot"`})
		return err == nil && len(resp.Executions) == 1
	}, 30*time.Second, 200*time.Millisecond)

	// A bad token is rejected and nothing changes.
	_, errOut, code := h.starter("rotate-token", "rot", "--token-file", h.writeToken("definitely-not-a-valid-token-000000"))
	require.Equal(t, exitTestFail, code, errOut)
	require.Contains(t, errOut, "token rejected")
	require.Equal(t, model.StateAuthFailed, h.state("rot"))

	// A good token is accepted; the sync resumes from its checkpoint.
	newTok := "sim-rotated-" + strings.Repeat("b", 40)
	h.sim.AddToken(simulator.Token{Value: newTok, ExpiresAt: time.Now().Add(90 * 24 * time.Hour)})
	h.sim.ResetRequests()
	h.mustStarter("rotate-token", "rot", "--token-file", h.writeToken(newTok))
	require.Eventually(t, func() bool { return h.state("rot") == model.StateProcessed }, 3*time.Minute, 100*time.Millisecond)
	active, _ = h.storedAgents("rot")
	require.Equal(t, h.sim.Truth("agents"), active)
	// No page fetched twice after the rotation: exactly the remaining pages were walked.
	require.Equal(t, int(int64(n/1000)-pagesBefore), walkRequests(h.sim, "/agents"))

	// Secrets: no token bytes in raw workflow histories, in any table, or in debug logs.
	for _, tok := range []string{h.token, newTok} {
		require.NotContains(t, h.logs.String(), tok)
		assertNoSecretInHistories(t, raw, tok)
		assertNoSecretInDB(t, h, tok)
	}
}

func assertNoSecretInHistories(t *testing.T, c client.Client, secret string) {
	t.Helper()
	ctx := context.Background()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default"})
	require.NoError(t, err)
	require.NotEmpty(t, resp.Executions)
	for _, ex := range resp.Executions {
		it := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, 0)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			b, err := proto.Marshal(ev)
			require.NoError(t, err)
			require.NotContains(t, string(b), secret, "history of %s", ex.Execution.WorkflowId)
			require.NotContains(t, string(b), secret[:12], "history of %s", ex.Execution.WorkflowId)
		}
	}
}

func assertNoSecretInDB(t *testing.T, h *harness, secret string) {
	t.Helper()
	rows, err := h.store.DB().Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Close())
	require.Contains(t, tables, "connections")
	for _, tbl := range tables {
		var dump string
		require.NoError(t, h.store.DB().QueryRow(`SELECT COALESCE(string_agg(row_to_json(t)::text, E'\n'), '') FROM "`+tbl+`" t`).Scan(&dump))
		require.NotContains(t, dump, secret, "table %s", tbl)
	}
}

func TestE2EConnectionChecksEachFail(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 10})
	lim := "lim-" + strings.Repeat("c", 40)
	h.sim.AddToken(simulator.Token{Value: lim, Permissions: []string{"Accounts.view", "Sites.view"}, ExpiresAt: time.Now().Add(24 * time.Hour)})
	port := h.srv.URL[strings.LastIndex(h.srv.URL, ":")+1:]
	cases := []struct {
		name, check, want string
		args              []string
	}{
		{"dns", "network", "DNS lookup of", []string{"--console-url", "console.does-not-exist.invalid", "--token-file", h.tokenFile}},
		{"closed port", "network", "TCP connection to 127.0.0.1:1 failed", []string{"--console-url", "127.0.0.1:1", "--token-file", h.tokenFile}},
		{"wrong ca", "tls", "TLS handshake with 127.0.0.1 failed", []string{"--console-url", "127.0.0.1:" + port, "--token-file", h.tokenFile}},
		{"401", "authentication", "rejected the API token", []string{"--console-url", h.srv.URL, "--ca-file", h.caFile, "--token-file", h.writeToken("wrong-token-" + strings.Repeat("x", 30))}},
		{"403", "authorization", "agents needs Endpoints.view", []string{"--console-url", h.srv.URL, "--ca-file", h.caFile, "--token-file", h.writeToken(lim), "--streams", "agents"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := h.starter(append([]string{"connection", "test"}, tc.args...)...)
			require.Equal(t, exitTestFail, code, "%s\n%s", out, errOut)
			var failLine string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, " FAIL ") {
					failLine = l
				}
			}
			require.Contains(t, failLine, tc.check, out)
			require.Contains(t, failLine, tc.want, out)
			require.Contains(t, out, "→ ", "a remediation line follows the failure")
		})
	}
	// Token expiry is shown and warned about when close.
	soon := "soon-" + strings.Repeat("d", 40)
	h.sim.AddToken(simulator.Token{Value: soon, ExpiresAt: time.Now().Add(5 * 24 * time.Hour)})
	out := h.mustStarter("connection", "test", "--console-url", h.srv.URL, "--ca-file", h.caFile, "--token-file", h.writeToken(soon), "--streams", "agents")
	require.Contains(t, out, "token-expiry    WARN")
	require.Contains(t, out, "rotate-token")
}

const exitTestFail = 3
