package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
)

func (h *harness) stored(id, stream string) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	require.NoError(h.t, h.store.EachRecord(context.Background(), id, stream, func(r *store.StoredRecord) error {
		out[r.Key] = r.Hash
		return nil
	}))
	return out
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestE2EThreatsAlertsBackfillKillDeltaAndRefresh(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 300, sim: simulator.Options{Threats: 20000, Alerts: 10000, ThreatSpan: 29 * 24 * time.Hour}})
	h.sim.SetFaults(simulator.Faults{Latency: 120 * time.Millisecond})
	w := h.startWorker()
	h.create("det", "--streams", "threats,alerts", "--lookback", "30d", "--backfill-windows", "30")

	// Kill the worker once some backfill windows are done but not all.
	finished := func() (done, total int) {
		for _, s := range mustStates(t, h, "det") {
			if strings.Contains(s.Stream, "@") {
				total++
				if s.LastWalkID != "" {
					done++
				}
			}
		}
		return
	}
	require.Eventually(t, func() bool { d, _ := finished(); return d >= 4 }, 3*time.Minute, 20*time.Millisecond)
	w.kill()
	done, total := finished()
	require.Less(t, done, 60, "the kill must land mid-backfill (%d/%d windows done)", done, total)
	h.sim.SetFaults(simulator.Faults{})
	h.startWorker()
	sum := h.syncWait("det")
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)

	require.Equal(t, h.sim.Truth("threats"), h.stored("det", model.StreamThreats), "every threat exactly once, as the console has it")
	require.Equal(t, h.sim.Truth("alerts"), h.stored("det", model.StreamAlerts), "every alert exactly once, as the console has it")
	var dup int
	require.NoError(t, h.store.DB().QueryRow(`SELECT (SELECT COUNT(*) - COUNT(DISTINCT record_key) FROM threats) + (SELECT COUNT(*) - COUNT(DISTINCT record_key) FROM alerts)`).Scan(&dup))
	require.Zero(t, dup)

	// A threat resolved after its creation is updated by the next delta.
	resolved := h.sim.ResolveThreats(50)
	// Alerts whose status changes inside the refresh window are updated too.
	var recent []string
	require.NoError(t, h.store.DB().Select(&recent, `SELECT record_key FROM alerts WHERE connection_id = 'det'
		AND UPPER(incident_status) <> 'RESOLVED' AND created_at >= $1 ORDER BY record_key LIMIT 20`, time.Now().Add(-48*time.Hour)))
	require.Len(t, recent, 20)
	h.sim.ChangeAlertIDs(recent, "RESOLVED")
	sum = h.syncWait("det")
	require.Equal(t, model.RunSuccess, sum.Status)
	th := streamResult(sum, model.StreamThreats)
	require.Equal(t, int64(50), th.Updated, "%+v", th)
	al := streamResult(sum, model.StreamAlerts)
	require.Equal(t, int64(20), al.Updated, "%+v", al)
	truthT, truthA := h.sim.Truth("threats"), h.sim.Truth("alerts")
	gotT, gotA := h.stored("det", model.StreamThreats), h.stored("det", model.StreamAlerts)
	for _, id := range resolved {
		require.Equal(t, truthT[id], gotT[id])
	}
	for _, id := range recent {
		require.Equal(t, truthA[id], gotA[id])
	}
	require.Equal(t, truthT, gotT)
	require.Equal(t, truthA, gotA)
	// Most of the window's alerts are unresolved, so that delta walked the whole refresh window
	// (fewer pages than ID batches) and nothing was left to re-read by ID.
	require.Zero(t, al.Refreshed, "%+v", al)

	// Resolve all but 20 of the window's UNRESOLVED alerts; once that delta stored it, what is
	// left unresolved (the 20, the IN_PROGRESS ones, those of the window's first 2 h) fits one
	// ID batch against the window's two pages, so the refresh re-reads by ID and catches the
	// 20's change (asserted below: Refreshed, and a delta walk shorter than the window).
	var open []string
	require.NoError(t, h.store.DB().Select(&open, `SELECT record_key FROM alerts WHERE connection_id = 'det'
		AND UPPER(incident_status) = 'UNRESOLVED' AND created_at >= $1 ORDER BY record_key`, time.Now().Add(-70*time.Hour)))
	require.Greater(t, len(open), 300)
	h.sim.ChangeAlertIDs(open[20:], "RESOLVED")
	sum = h.syncWait("det")
	require.Equal(t, model.RunSuccess, sum.Status)
	al = streamResult(sum, model.StreamAlerts)
	require.Equal(t, int64(len(open)-20), al.Updated, "%+v", al)
	h.sim.ChangeAlertIDs(open[:20], "IN_PROGRESS")
	sum = h.syncWait("det")
	require.Equal(t, model.RunSuccess, sum.Status)
	al = streamResult(sum, model.StreamAlerts)
	require.Equal(t, int64(20), al.Updated, "%+v", al)
	require.GreaterOrEqual(t, al.Refreshed, int64(20), "re-read by ID: %+v", al)
	require.Less(t, al.Fetched, int64(len(open)), "the delta walk did not re-read the window: %+v", al)
	require.Equal(t, h.sim.Truth("alerts"), h.stored("det", model.StreamAlerts))

	// OCSF exports validate (2004), one line per record.
	for _, stream := range []string{"threats", "alerts"} {
		out := h.mustStarter("export", "det", "--stream", stream, "--format", "ocsf")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, map[string]int{"threats": len(truthT), "alerts": len(truthA)}[stream])
		validateLines(t, 2004, lines[:200])
	}
}

func TestE2ETorqFiltersAndScoping(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 300, sim: simulator.Options{Threats: 3000, Alerts: 2000, ThreatSpan: 10 * 24 * time.Hour,
		Accounts: 2, SitesPerAccount: 2}})
	h.startWorker()
	// The seeds' two documented examples, plus one site as scope.
	filters := `{"threats": {"confidenceLevels": "malicious", "incidentStatuses": "unresolved"},
	             "alerts": {"severity": "High,Critical", "incidentStatus": "IN_PROGRESS,UNRESOLVED"}}`
	ff := filepath.Join(h.dir, "filters.json")
	require.NoError(t, os.WriteFile(ff, []byte(filters), 0o600))
	var one struct {
		SiteID    string `json:"siteId"`
		AccountID string `json:"accountId"`
	}
	raw, ok := h.sim.AgentJSON(firstKey(h.sim.Truth("agents")))
	require.True(t, ok)
	require.NoError(t, json.Unmarshal(raw, &one))

	h.create("flt", "--streams", "threats,alerts", "--lookback", "11d", "--filters-file", ff)
	h.create("site", "--streams", "threats,alerts", "--lookback", "11d", "--site-ids", one.SiteID)
	h.create("acct", "--streams", "threats,alerts", "--lookback", "11d", "--account-ids", one.AccountID)
	for _, id := range []string{"flt", "site", "acct"} {
		require.Equal(t, model.RunSuccess, h.syncWait(id).Status)
	}
	match := func(f func(url.Values) ([]string, error), q url.Values) []string {
		ids, err := f(q)
		require.NoError(t, err)
		return ids
	}
	tq := url.Values{"confidenceLevels": {"malicious"}, "incidentStatuses": {"unresolved"}}
	aq := url.Values{"severity": {"High,Critical"}, "incidentStatus": {"IN_PROGRESS,UNRESOLVED"}}
	require.ElementsMatch(t, match(h.sim.MatchThreats, tq), keysOf(h.stored("flt", model.StreamThreats)))
	require.ElementsMatch(t, match(h.sim.MatchAlerts, aq), keysOf(h.stored("flt", model.StreamAlerts)))
	require.NotEmpty(t, h.stored("flt", model.StreamThreats))
	require.NotEmpty(t, h.stored("flt", model.StreamAlerts))

	sq := url.Values{"siteIds": {one.SiteID}}
	require.ElementsMatch(t, match(h.sim.MatchThreats, sq), keysOf(h.stored("site", model.StreamThreats)))
	require.ElementsMatch(t, match(h.sim.MatchAlerts, sq), keysOf(h.stored("site", model.StreamAlerts)))
	acq := url.Values{"accountIds": {one.AccountID}}
	require.ElementsMatch(t, match(h.sim.MatchThreats, acq), keysOf(h.stored("acct", model.StreamThreats)))
	require.ElementsMatch(t, match(h.sim.MatchAlerts, acq), keysOf(h.stored("acct", model.StreamAlerts)))
	require.Less(t, len(h.stored("site", model.StreamThreats)), len(h.sim.Truth("threats")), "scoping narrows")
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// TestE2ETorqEachDocumentedFilter: every parameter example of seeds/004, one connection each,
// stores exactly the simulator's matching set.
func TestE2ETorqEachDocumentedFilter(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 200, sim: simulator.Options{Threats: 800, Alerts: 600, ThreatSpan: 5 * 24 * time.Hour}})
	h.startWorker()
	examples := []struct {
		stream, key, value string
	}{
		{"alerts", "severity", "High,Critical"},
		{"alerts", "incidentStatus", "IN_PROGRESS,UNRESOLVED"},
		{"alerts", "analystVerdict", "TRUE_POSITIVE,FALSE_POSITIVE"},
		{"alerts", "ruleName__contains", "STAR-rule,lateral-movement"},
		{"alerts", "createdAt__lte", "2024-01-16T00:00:00.000000Z"},
		{"alerts", "reportedAt__gte", "2024-01-15T00:00:00.000000Z"},
		{"alerts", "osType", "windows,macos,linux"},
		{"threats", "confidenceLevels", "malicious,suspicious"},
		{"threats", "analystVerdicts", "true_positive"},
		{"threats", "incidentStatuses", "unresolved,in_progress"},
		{"threats", "mitigationStatuses", "not_mitigated"},
		{"threats", "createdAt__lte", "2024-01-16T00:00:00.000000Z"},
		{"threats", "computerName__contains", "DESKTOP-,john-laptop"},
		{"threats", "osTypes", "windows,macos,linux"},
		{"threats", "resolved", "false"},
	}
	for i, ex := range examples {
		id := fmt.Sprintf("ex%d", i)
		ff := filepath.Join(h.dir, id+".json")
		val := strconv.Quote(ex.value)
		if ex.value == "false" {
			val = "false"
		}
		require.NoError(t, os.WriteFile(ff, []byte(fmt.Sprintf(`{%q: {%q: %s}}`, ex.stream, ex.key, val)), 0o600))
		h.create(id, "--streams", ex.stream, "--lookback", "6d", "--filters-file", ff, "--skip-test")
	}
	for i, ex := range examples {
		id := fmt.Sprintf("ex%d", i)
		require.Equal(t, model.RunSuccess, h.syncWait(id).Status, "%s %s=%s", ex.stream, ex.key, ex.value)
		q := url.Values{ex.key: {ex.value}}
		var want []string
		var err error
		if ex.stream == "threats" {
			want, err = h.sim.MatchThreats(q)
		} else {
			want, err = h.sim.MatchAlerts(q)
		}
		require.NoError(t, err)
		require.ElementsMatch(t, want, keysOf(h.stored(id, ex.stream)), "%s %s=%s", ex.stream, ex.key, ex.value)
	}
}

// TestE2ETightPageBudgetParallelWindows: backfill windows walk in parallel, several pages each,
// with a worker page budget smaller than their pipelines. A finished page commit holds a page
// slot until its walk settles it; a walk that settled only when its next page arrived
// deadlocked here, each walk's fetcher waiting for a slot the other walk's finished commit held.
// The windows also share the worker's commit slots.
func TestE2ETightPageBudgetParallelWindows(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 50, sim: simulator.Options{Threats: 12000, ThreatSpan: 29 * 24 * time.Hour}})
	h.startWorker("SYNC_MAX_PAGES_IN_FLIGHT=2", "SYNC_PAGE_COMMITS=2") // 3 windows share 2 page and 2 commit slots
	h.create("tight", "--streams", "threats", "--lookback", "30d", "--backfill-windows", "3", "--skip-test")
	sum := h.waitRun("tight", 0, "", 5*time.Minute)
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)
	th := streamResult(sum, model.StreamThreats)
	require.Equal(t, int64(12000), th.Inserted, "%+v", th)
	require.Equal(t, h.sim.Truth("threats"), h.stored("tight", model.StreamThreats), "every threat exactly once, as the console has it")
}

// A lookback shorter than the alerts' refresh window (24 h against 72 h): the delta that
// re-walks the window to catch status changes starts no earlier than the oldest alert the
// backfill stored, so it adds no alert from before the lookback, and it still catches the
// changes inside it.
func TestE2EAlertsRefreshWithinShortLookback(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 50, sim: simulator.Options{Alerts: 10000, ThreatSpan: 10 * 24 * time.Hour}})
	h.startWorker()
	h.create("short", "--streams", "alerts", "--lookback", "24h")
	sum := h.syncWait("short")
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)
	before := h.stored("short", model.StreamAlerts)
	require.Greater(t, len(before), 800, "about a tenth of 10,000 alerts over 10 days")
	require.Less(t, len(before), 1200)

	var open []string
	require.NoError(t, h.store.DB().Select(&open, `SELECT record_key FROM alerts WHERE connection_id = 'short'
		AND UPPER(incident_status) = 'UNRESOLVED' ORDER BY record_key LIMIT 30`))
	require.Len(t, open, 30)
	h.sim.ChangeAlertIDs(open, "RESOLVED")
	sum = h.syncWait("short")
	require.Equal(t, model.RunSuccess, sum.Status, "%+v", sum)
	al := streamResult(sum, model.StreamAlerts)
	require.Equal(t, int64(30), al.Updated, "%+v", al)
	require.Zero(t, al.Inserted, "nothing from before the lookback: %+v", al)
	require.Greater(t, al.Fetched, int64(len(before)/2), "the delta re-walked the stored window: %+v", al)
	after := h.stored("short", model.StreamAlerts)
	require.Len(t, after, len(before))
	truth := h.sim.Truth("alerts")
	for k, hash := range after {
		require.Equal(t, truth[k], hash, "alert %s as the console has it", k)
	}
}
