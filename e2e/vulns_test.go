package e2e

import (
	"bufio"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/simulator"
)

func TestE2EVulnerabilitiesSoftwareAndXDRAssets(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 2000, sim: simulator.Options{Apps: 100, CVEs: 1500, XDRAssets: true}})
	require.GreaterOrEqual(t, h.sim.RiskCount(), 20000, "the tenant must hold ≥20,000 risk rows")
	w := h.startWorker()
	h.create("vul", "--streams", "agents,vulnerabilities,xdr_assets")

	sum := h.syncWait("vul")
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)
	require.Equal(t, h.sim.Truth("vulnerabilities"), h.stored("vul", model.StreamVulnerabilities), "every risk row stored once, as the console has it")
	require.Equal(t, h.sim.Truth("xdr_assets"), h.stored("vul", model.StreamXDRAssets))
	// CVE details were fetched once per distinct CVE at most, never per finding.
	cveReqs := 0
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, "/application-management/risks/cves") {
			cveReqs++
		}
	}
	require.LessOrEqual(t, cveReqs, len(h.sim.DistinctCVEs()))
	require.Greater(t, cveReqs, 0)

	// Every OCSF line validates (2002); flat rows carry the Qualys map's fields.
	v, err := ocsf.NewValidator()
	require.NoError(t, err)
	out := h.mustStarter("export", "vul", "--stream", "vulnerabilities", "--format", "ocsf")
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	n := 0
	for sc.Scan() {
		n++
		require.NoError(t, v.Validate(2002, sc.Bytes()), "line %d", n)
	}
	require.Equal(t, h.sim.RiskCount(), n)
	flat := h.mustStarter("export", "vul", "--stream", "vulnerabilities", "--format", "flat")
	first := strings.SplitN(flat, "\n", 2)[0]
	var row map[string]any
	require.NoError(t, json.Unmarshal([]byte(first), &row))
	for _, col := range ocsf.VulnColumns() {
		require.Contains(t, row, col)
	}
	var joined int
	require.NoError(t, h.store.DB().QueryRow(`SELECT COUNT(*) FROM vulnerabilities WHERE connection_id = 'vul' AND host_name <> '' AND cve_id <> ''`).Scan(&joined))
	require.Equal(t, n, joined, "host fields are joined from the agents on every finding")

	// Scores follow the default map, and a custom one.
	score := func(id string) map[int]int {
		rows, err := h.store.DB().Query(`SELECT severity_level, risk_score FROM vulnerabilities WHERE connection_id = $1 GROUP BY severity_level, risk_score`, id)
		require.NoError(t, err)
		defer rows.Close()
		m := map[int]int{}
		for rows.Next() {
			var l, s int
			require.NoError(t, rows.Scan(&l, &s))
			_, dup := m[l]
			require.False(t, dup, "one score per severity level")
			m[l] = s
		}
		return m
	}
	def := score("vul")
	require.NotEmpty(t, def)
	h.create("vul2", "--streams", "agents,vulnerabilities", "--risk-scores", "10,30,50,70,90")
	require.Equal(t, model.RunSuccess, h.syncWait("vul2").Status)
	custom := score("vul2")
	require.NotEqual(t, def, custom)

	// 200 severity changes and 100 removals: the delta yields exactly those, FIXED for the removed.
	changed := h.sim.ChangeRiskSeverity(200)
	removed := h.sim.RemoveRisks(100)
	h.sim.ResetRequests()
	sum = h.syncWait("vul")
	require.Equal(t, model.RunSuccess, sum.Status)
	vr := streamResult(sum, model.StreamVulnerabilities)
	require.Equal(t, int64(300), vr.Updated, "%+v", vr)
	require.Zero(t, vr.Inserted)
	risksReqs := 0
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, "/application-management/risks") {
			risksReqs++
		}
	}
	require.LessOrEqual(t, risksReqs, 2, "requests bounded by changed pages, not tenant size")
	got := h.stored("vul", model.StreamVulnerabilities)
	truth := h.sim.Truth("vulnerabilities")
	for _, id := range append(changed, removed...) {
		require.Equal(t, truth[id], got[id], "risk %s", id)
	}
	var fixed int
	require.NoError(t, h.store.DB().QueryRow(`SELECT COUNT(*) FROM vulnerabilities WHERE connection_id = 'vul' AND status = 'FIXED' AND record_key = ANY($1)`,
		"{"+strings.Join(removed, ",")+"}").Scan(&fixed))
	require.Equal(t, 100, fixed)
	_ = w
}

func TestE2EApplicationsWorklistResumesAfterKill(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 300, sim: simulator.Options{Apps: 45, CVEs: 50}})
	w := h.startWorker()
	h.create("apps", "--streams", "applications", "--skip-test")
	// Kill once several applications are complete (the client keeps to 3 requests/s there).
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "apps") {
			if s.Stream == model.StreamApplications && s.WalkPages >= 8 {
				return true
			}
		}
		return false
	}, 3*time.Minute, 20*time.Millisecond)
	w.kill()
	done := map[string]int{}
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, "/inventory/endpoints") {
			q, _ := url.ParseQuery(r.RawQuery)
			done[q.Get("applicationName")]++
		}
	}
	h.sim.ResetRequests()
	h.startWorker()
	// Wait for the interrupted walk (sync 1) to finish — not a new one.
	require.Eventually(t, func() bool {
		for _, s := range mustStates(t, h, "apps") {
			if s.Stream == model.StreamApplications && s.LastWalkID == "apps:1:applications" {
				return true
			}
		}
		return false
	}, 4*time.Minute, 50*time.Millisecond)
	require.Equal(t, h.sim.Truth("applications"), h.stored("apps", model.StreamApplications))
	again := map[string]bool{}
	for _, r := range h.sim.Requests() {
		if strings.HasSuffix(r.Path, "/inventory/endpoints") {
			q, _ := url.ParseQuery(r.RawQuery)
			if done[q.Get("applicationName")] > 0 {
				again[q.Get("applicationName")] = true
			}
		}
	}
	require.NotEmpty(t, done)
	require.LessOrEqual(t, len(again), 1, "only the application in flight at the kill is requested again: %v", again)
}
