package simulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	risksPath    = "/application-management/risks"
	cvesPath     = "/application-management/risks/cves"
	invPath      = "/application-management/inventory"
	invEndpoints = "/application-management/inventory/endpoints"
	xdrPath      = "/xdr/assets"
)

type riskRow struct {
	ID, CveID, Severity, Status, EndpointID, EndpointName, OsType string
	ApplicationName, ApplicationVendor, ApplicationVersion        string
	BaseScore, NvdBaseScore                                       *string
	Raw                                                           map[string]json.RawMessage
	Hash                                                          string
}

// walkAny follows cursors to the end and returns the raw items. With
// resend the filters are re-sent on every page; totalKey is the
// pagination total field ("totalItems" or "totalCount").
func walkAny(t testing.TB, s *Simulator, path string, q url.Values, resend bool, totalKey string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	cur := with(q)
	total := -1
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100000)
		rec := get(t, s, path, cur)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var p struct {
			Data       []json.RawMessage          `json:"data"`
			Pagination map[string]json.RawMessage `json:"pagination"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		n, err := strconv.Atoi(string(p.Pagination[totalKey]))
		require.NoError(t, err, "pagination %s missing: %s", totalKey, rec.Body.String()[max(0, rec.Body.Len()-300):])
		if total >= 0 {
			require.Equal(t, total, n, "total changes between pages")
		}
		total = n
		out = append(out, p.Data...)
		if string(p.Pagination["nextCursor"]) == "null" {
			require.Equal(t, total, len(out), "total vs walked")
			return out
		}
		require.NotEmpty(t, p.Data)
		var c string
		require.NoError(t, json.Unmarshal(p.Pagination["nextCursor"], &c))
		next := url.Values{"cursor": {c}, "limit": {q.Get("limit")}}
		if resend {
			for k, v := range q {
				if k != "limit" {
					next[k] = v
				}
			}
		}
		cur = next
	}
}

func walkRisks(t testing.TB, s *Simulator, q url.Values, resend bool) []riskRow {
	t.Helper()
	var out []riskRow
	for _, raw := range walkAny(t, s, risksPath, q, resend, "totalItems") {
		var r riskRow
		require.NoError(t, json.Unmarshal(raw, &r))
		require.NoError(t, json.Unmarshal(raw, &r.Raw))
		r.Hash = sha256Hex(raw)
		out = append(out, r)
	}
	return out
}

func rowHashes(t testing.TB, rows []riskRow) map[string]string {
	t.Helper()
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		_, dup := m[r.ID]
		require.False(t, dup, "row %s seen twice", r.ID)
		m[r.ID] = r.Hash
	}
	return m
}

func newVulnSim(clk *fakeClock, extra func(*Options)) *Simulator {
	o := Options{Seed: 7, Agents: 200, Apps: 40, CVEs: 200, Now: clk.Now}
	if extra != nil {
		extra(&o)
	}
	return New(o)
}

func TestRisksWalkMatchesTruth(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, nil)
	truth := s.Truth("vulnerabilities")
	require.NotEmpty(t, truth)
	require.Equal(t, s.RiskCount(), len(truth))
	require.Equal(t, truth, s.Truth("vulnerabilities_detected"))

	rows := walkRisks(t, s, url.Values{"limit": {"137"}}, false)
	require.Equal(t, truth, rowHashes(t, rows))
	require.True(t, slices.IsSortedFunc(rows, func(a, b riskRow) int { return strings.Compare(a.ID, b.ID) }))

	// Other orders and Elastic-style re-sent filters cover the same rows.
	require.Equal(t, truth, rowHashes(t, walkRisks(t, s, url.Values{"limit": {"500"}, "sortOrder": {"desc"}}, true)))
	require.Equal(t, truth, rowHashes(t, walkRisks(t, s, url.Values{"limit": {"1000"}, "sortBy": {"detectionDate"}, "includeRemovals": {"true"}}, true)))

	var vln, std int
	sevs := map[string]bool{}
	for i, r := range rows {
		require.NotContains(t, r.Raw, "riskUpdatedDate", "the item has no riskUpdatedDate (reference §9.1)")
		require.Equal(t, "Detected", r.Status)
		sevs[r.Severity] = true
		if r.BaseScore != nil {
			std++
			require.Nil(t, r.NvdBaseScore)
			require.Regexp(t, `^\d+\.\d\d$`, *r.BaseScore)
		} else {
			vln++
			require.NotNil(t, r.NvdBaseScore, "VLN rows carry nvdBaseScore")
			require.Contains(t, r.Raw, "exploitCodeMaturity")
		}
		if i%7 != 0 {
			continue // identity checks on a sample (they render agents)
		}
		// Endpoints are real simulated agents.
		agJSON, ok := s.AgentJSON(r.EndpointID)
		require.True(t, ok, r.EndpointID)
		var ag struct{ ComputerName, OsType string }
		require.NoError(t, json.Unmarshal(agJSON, &ag))
		require.Equal(t, ag.ComputerName, r.EndpointName)
		require.Equal(t, ag.OsType, r.OsType)
		js, ok := s.RiskJSON(r.ID)
		require.True(t, ok)
		require.Equal(t, r.Hash, sha256Hex(js))
	}
	require.Positive(t, vln)
	require.Positive(t, std)
	require.Len(t, sevs, 4, "all four severities occur")

	p := decodePage(t, get(t, s, risksPath, url.Values{"countOnly": {"true"}}))
	require.Empty(t, p.Data)
	require.Equal(t, len(truth), p.Pagination.TotalItems)
	p = decodePage(t, get(t, s, risksPath, url.Values{"skipCount": {"true"}, "limit": {"5"}}))
	require.Len(t, p.Data, 5)
	require.Zero(t, p.Pagination.TotalItems)
}

func TestRisksMutationsAndDelta(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, nil)
	before := s.Truth("vulnerabilities")
	clk.Advance(time.Hour)
	wm := clk.Now()
	clk.Advance(time.Second)
	changed := s.ChangeRiskSeverity(6)
	removed := s.RemoveRisks(5)
	added := s.AddRisks(4)
	require.Len(t, changed, 6)
	require.Len(t, removed, 5)
	require.Len(t, added, 4)
	require.Equal(t, len(before)+4, s.RiskCount())

	all := s.Truth("vulnerabilities")
	detected := s.Truth("vulnerabilities_detected")
	require.Len(t, all, len(before)+4)
	require.Len(t, detected, len(all)-5)
	for _, id := range changed {
		require.NotEqual(t, before[id], all[id], "changed row bytes must differ")
	}
	touched := map[string]bool{}
	for _, id := range slices.Concat(changed, removed, added) {
		touched[id] = true
	}
	for id, h := range before {
		if !touched[id] {
			require.Equal(t, h, all[id], "untouched row %s changed", id)
		}
	}

	// Delta with includeRemovals: exactly the touched rows, current bytes.
	for _, limit := range []string{"2", "1000"} {
		for _, order := range []string{"asc", "desc"} {
			rows := walkRisks(t, s, url.Values{"limit": {limit}, "sortOrder": {order}, "includeRemovals": {"true"},
				"riskUpdatedDate__gte": {wm.Format(time.RFC3339Nano)}}, false)
			got := rowHashes(t, rows)
			require.Len(t, got, len(touched))
			for id, h := range got {
				require.True(t, touched[id], id)
				require.Equal(t, all[id], h)
			}
			for _, r := range rows {
				require.Equal(t, slices.Contains(removed, r.ID), r.Status == "Removed", r.ID)
			}
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			require.True(t, sort.StringsAreSorted(ids) == (order == "asc"), "delta walk follows id order")
		}
	}
	// Default (no includeRemovals): removed rows are gone.
	got := rowHashes(t, walkRisks(t, s, url.Values{"limit": {"3"}, "riskUpdatedDate__gt": {wm.Format(time.RFC3339Nano)}}, true))
	for id := range touched {
		_, in := got[id]
		require.Equal(t, !slices.Contains(removed, id), in, id)
	}
	require.Equal(t, detected, rowHashes(t, walkRisks(t, s, url.Values{"limit": {"1000"}}, false)))
	require.Equal(t, all, rowHashes(t, walkRisks(t, s, url.Values{"limit": {"1000"}, "includeRemovals": {"true"}}, false)))
	require.Equal(t, detected, rowHashes(t, walkRisks(t, s, url.Values{"limit": {"1000"}, "includeRemovals": {"false"}}, false)))
	empty := walkRisks(t, s, url.Values{"limit": {"10"}, "riskUpdatedDate__gt": {clk.Now().Format(time.RFC3339Nano)}}, false)
	require.Empty(t, empty)

	// A window reaching into base rows merges base and overlay in id order.
	rs := s.risks
	rs.mu.RLock()
	threshold := rs.baseUpdated(rs.base / 2)
	var want []string
	for r := 0; r < rs.next; r++ {
		if rs.updatedOf(r) >= threshold && rs.statusOf(r) == statusDetected {
			want = append(want, strconv.FormatInt(rs.idOf(r), 10))
		}
	}
	rs.mu.RUnlock()
	rows := walkRisks(t, s, url.Values{"limit": {"97"}, "riskUpdatedDate__gte": {time.UnixMicro(threshold).UTC().Format(time.RFC3339Nano)}}, false)
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	require.Equal(t, want, ids)

	// Severity change moves into the new band; removing again prefers Detected rows.
	for _, id := range changed {
		js, _ := s.RiskJSON(id)
		var r riskRow
		require.NoError(t, json.Unmarshal(js, &r))
		score := r.BaseScore
		if score == nil {
			score = r.NvdBaseScore
		}
		f, err := strconv.ParseFloat(*score, 64)
		require.NoError(t, err)
		require.Equal(t, riskSeverities[severityOfScore(int(f*10+0.5))], r.Severity)
	}
	again := s.RemoveRisks(3)
	for _, id := range again {
		require.False(t, slices.Contains(removed, id))
	}
}

func TestRisksFilters(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, func(o *Options) { o.Accounts, o.SitesPerAccount = 2, 2 })
	all := walkRisks(t, s, url.Values{"limit": {"1000"}}, false)
	count := func(pred func(riskRow) bool) int {
		n := 0
		for _, r := range all {
			if pred(r) {
				n++
			}
		}
		return n
	}
	total := func(q url.Values) int {
		q.Set("countOnly", "true")
		return decodePage(t, get(t, s, risksPath, q)).Pagination.TotalItems
	}
	rows := walkRisks(t, s, url.Values{"limit": {"250"}, "severities": {"critical,HIGH"}}, false)
	require.Equal(t, count(func(r riskRow) bool { return r.Severity == "CRITICAL" || r.Severity == "HIGH" }), len(rows))
	require.Positive(t, len(rows))

	cve := all[len(all)/2].CveID
	rows = walkRisks(t, s, url.Values{"limit": {"50"}, "cveId__contains": {cve}}, false)
	require.Equal(t, count(func(r riskRow) bool { return strings.Contains(r.CveID, cve) }), len(rows))

	app := all[0].ApplicationName
	require.Equal(t, count(func(r riskRow) bool { return r.ApplicationName == app }), total(url.Values{"applicationNames": {strings.ToUpper(app)}}))
	require.Equal(t, count(func(r riskRow) bool { return r.OsType == "linux" }), total(url.Values{"osTypes": {"linux"}}))

	// Single site/account/group ID (reference: "Single … ID to filter by").
	site := s.scope.sites[1]
	siteRows := walkRisks(t, s, url.Values{"limit": {"1000"}, "siteIds": {strconv.FormatInt(site.id, 10)}}, false)
	require.Positive(t, len(siteRows))
	require.Less(t, len(siteRows), len(all))
	for _, r := range siteRows {
		agJSON, _ := s.AgentJSON(r.EndpointID)
		var ag struct{ SiteID string }
		require.NoError(t, json.Unmarshal(agJSON, &ag))
		require.Equal(t, strconv.FormatInt(site.id, 10), ag.SiteID)
	}
	for name, q := range map[string]url.Values{
		"Only a single ID":                {"siteIds": {strconv.FormatInt(s.scope.sites[0].id, 10) + "," + strconv.FormatInt(site.id, 10)}},
		"Must be one of":                  {"sortBy": {"riskUpdatedDate"}},
		"not supported by the simulator":  {"sortBy": {"severity"}},
		"severities: BAD":                 {"severities": {"BAD"}},
		"Unknown field":                   {"cveIds": {cve}},
		"Not a valid boolean":             {"includeRemovals": {"maybe"}},
		"Limit must be":                   {"limit": {"1001"}},
		"mitigationStatus: not supported": {"mitigationStatus": {"On hold"}},
	} {
		rec := get(t, s, risksPath, q)
		require.Equal(t, http.StatusBadRequest, rec.Code, name)
		require.Contains(t, errDetail(t, rec), name)
	}
	// A cursor is bound to its filters.
	p := decodePage(t, get(t, s, risksPath, url.Values{"limit": {"5"}, "severities": {"HIGH"}}))
	rec := get(t, s, risksPath, url.Values{"cursor": {*p.Pagination.NextCursor}, "severities": {"LOW"}})
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = get(t, s, threatsPath, url.Values{"cursor": {*p.Pagination.NextCursor}})
	require.Equal(t, http.StatusBadRequest, rec.Code)
}

func TestRiskCVEDetails(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, nil)
	s.AddRisks(5)
	s.RemoveRisks(10)
	distinct := map[string]bool{}
	for _, r := range walkRisks(t, s, url.Values{"limit": {"1000"}, "includeRemovals": {"true"}}, false) {
		distinct[r.CveID] = true
	}
	want := s.DistinctCVEs()
	require.Len(t, want, len(distinct))
	for _, id := range want {
		require.True(t, distinct[id], id)
	}

	type cveRow struct {
		CveID, Severity, NvdBaseScore, Description, NvdURL, PublishedDate string
	}
	var got []string
	for _, raw := range walkAny(t, s, cvesPath, url.Values{"limit": {"33"}}, false, "totalItems") {
		var c cveRow
		require.NoError(t, json.Unmarshal(raw, &c))
		require.Equal(t, "https://nvd.nist.gov/vuln/detail/"+c.CveID, c.NvdURL)
		require.NotEmpty(t, c.Description)
		require.Contains(t, riskSeverities, c.Severity)
		got = append(got, c.CveID)
	}
	require.Equal(t, want, got, "catalogue order is (year, number)")

	// Batch lookup: cveId__contains takes a comma list (substring, any of);
	// exact matches need a client-side filter.
	batch := want[:min(40, len(want))]
	var found []string
	for _, raw := range walkAny(t, s, cvesPath, url.Values{"limit": {"1000"}, "cveId__contains": {strings.Join(batch, ",")}}, false, "totalItems") {
		var c cveRow
		require.NoError(t, json.Unmarshal(raw, &c))
		require.True(t, containsAny(c.CveID, batch), c.CveID)
		if slices.Contains(batch, c.CveID) {
			found = append(found, c.CveID)
		}
	}
	require.ElementsMatch(t, batch, found)

	// Per-application filter: CVEs of the application's installed versions.
	rows := walkRisks(t, s, url.Values{"limit": {"1000"}, "includeRemovals": {"true"}}, false)
	app, vendor := rows[0].ApplicationName, rows[0].ApplicationVendor
	appCVEs := map[string]bool{}
	for _, r := range rows {
		if r.ApplicationName == app {
			appCVEs[r.CveID] = true
		}
	}
	n := 0
	for _, raw := range walkAny(t, s, cvesPath, url.Values{"limit": {"1000"}, "applicationName": {app}, "applicationVendor": {vendor}}, true, "totalItems") {
		var c cveRow
		require.NoError(t, json.Unmarshal(raw, &c))
		require.True(t, appCVEs[c.CveID], c.CveID)
		n++
	}
	require.Equal(t, len(appCVEs), n)
	require.Equal(t, http.StatusBadRequest, get(t, s, cvesPath, url.Values{"cveIds": {batch[0]}}).Code)
}

func TestInventoryWalkCoversApplications(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, func(o *Options) { o.Apps = 45 }) // beyond the named table: synthetic names
	truth := s.Truth("applications")
	require.NotEmpty(t, truth)

	type invRow struct {
		ApplicationName, ApplicationVendor       string
		ApplicationVersionsCount, EndpointsCount int
	}
	type epRow struct {
		ID, EndpointID, EndpointUUID, EndpointName, ApplicationName, Version string
	}
	apps := walkAny(t, s, invPath, url.Values{"limit": {"7"}, "skipCount": {"false"}}, false, "totalItems")
	require.Len(t, apps, s.DistinctApps())
	got := map[string]string{}
	rowIDs := map[string]bool{}
	for _, raw := range apps {
		var a invRow
		require.NoError(t, json.Unmarshal(raw, &a))
		require.Positive(t, a.EndpointsCount)
		eps := walkAny(t, s, invEndpoints, url.Values{"limit": {"40"}, "applicationName": {a.ApplicationName}, "applicationVendor": {a.ApplicationVendor}}, false, "totalItems")
		require.Len(t, eps, a.EndpointsCount)
		versions := map[string]bool{}
		for _, e := range eps {
			var r epRow
			require.NoError(t, json.Unmarshal(e, &r))
			require.Equal(t, a.ApplicationName, r.ApplicationName)
			k := r.EndpointID + "|" + r.ApplicationName + "|" + r.Version
			_, dup := got[k]
			require.False(t, dup, k)
			got[k] = sha256Hex(e)
			require.False(t, rowIDs[r.ID])
			rowIDs[r.ID] = true
			versions[r.Version] = true
		}
		require.Len(t, versions, a.ApplicationVersionsCount)
	}
	require.Equal(t, truth, got)

	// Endpoints are real agents; desc order and re-sent filters agree.
	var one epRow
	eps := walkAny(t, s, invEndpoints, url.Values{"limit": {"3"}, "sortOrder": {"desc"}, "applicationName": {"7-zip"}, "applicationVendor": {"Igor Pavlov"}}, true, "totalItems")
	require.NotEmpty(t, eps)
	require.NoError(t, json.Unmarshal(eps[0], &one))
	agJSON, ok := s.AgentJSON(one.EndpointID)
	require.True(t, ok)
	var ag struct{ UUID, ComputerName string }
	require.NoError(t, json.Unmarshal(agJSON, &ag))
	require.Equal(t, ag.UUID, one.EndpointUUID)
	require.Equal(t, ag.ComputerName, one.EndpointName)

	// Risk rows only reference installations the inventory lists.
	for _, r := range walkRisks(t, s, url.Values{"limit": {"1000"}}, false) {
		require.Contains(t, truth, r.EndpointID+"|"+r.ApplicationName+"|"+r.ApplicationVersion)
	}

	// Scope filter (single ID), required parameters, vendor with a comma.
	g := s.scope.groups[0]
	scoped := walkAny(t, s, invPath, url.Values{"limit": {"1000"}, "groupIds": {strconv.FormatInt(g.id, 10)}}, false, "totalItems")
	require.NotEmpty(t, scoped)
	rec := get(t, s, invEndpoints, url.Values{"applicationName": {"7-Zip"}})
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, errDetail(t, rec), "applicationVendor: Missing data for required field.")
	zoom := decodePage(t, get(t, s, invEndpoints, url.Values{"applicationName": {"Zoom Workplace"}, "applicationVendor": {"Zoom Video Communications, Inc."}}))
	require.Positive(t, zoom.Pagination.TotalItems)
	none := decodePage(t, get(t, s, invEndpoints, url.Values{"applicationName": {"nope"}, "applicationVendor": {"x"}}))
	require.Empty(t, none.Data)
}

func TestInventoryRateLimit(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, func(o *Options) { o.EnforceRateLimits, o.RetryAfter = true, true })
	q := url.Values{"applicationName": {"7-Zip"}, "applicationVendor": {"Igor Pavlov"}}
	require.Equal(t, http.StatusOK, get(t, s, invPath, nil).Code)
	rec := get(t, s, invPath, nil)
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, Body429, rec.Body.String())
	require.Equal(t, http.StatusTooManyRequests, get(t, s, invEndpoints, q).Code, "one bucket for the inventory prefix")
	clk.Advance(340 * time.Millisecond) // 3/s: one token per 333ms
	require.Equal(t, http.StatusOK, get(t, s, invEndpoints, q).Code)
	require.Equal(t, http.StatusTooManyRequests, get(t, s, invPath, nil).Code)
	for range 20 { // risks are not in the published table
		require.Equal(t, http.StatusOK, get(t, s, risksPath, nil).Code)
	}
}

func TestVulnPermissions(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, func(o *Options) {
		o.XDRAssets = true
		o.Tokens = []Token{
			{Value: "apps"}, // nil permissions: everything
			{Value: "view", Permissions: []string{"Applications Page.view"}},
			{Value: "risks", Permissions: []string{"Applications Page.viewRisks"}},
			{Value: "xdr", Permissions: []string{"XDR Inventory.view"}},
			{Value: "agents", Permissions: []string{"Endpoints.view"}},
		}
	})
	q := url.Values{"applicationName": {"7-Zip"}, "applicationVendor": {"Igor Pavlov"}}
	cases := []struct {
		path          string
		ok, forbidden []string
	}{
		{risksPath, []string{"apps", "risks"}, []string{"view", "xdr", "agents"}},
		{cvesPath, []string{"apps", "risks"}, []string{"view", "xdr"}},
		{invPath, []string{"apps", "view"}, []string{"risks", "xdr"}},
		{invEndpoints, []string{"apps", "view"}, []string{"risks", "agents"}},
		{xdrPath, []string{"apps", "xdr"}, []string{"view", "risks", "agents"}},
	}
	for _, c := range cases {
		for _, tok := range c.ok {
			rec := call(t, s, http.MethodGet, c.path, q2(c.path, q), tok)
			require.Equal(t, http.StatusOK, rec.Code, "%s %s %s", c.path, tok, rec.Body.String())
		}
		for _, tok := range c.forbidden {
			rec := call(t, s, http.MethodGet, c.path, q2(c.path, q), tok)
			require.Equal(t, http.StatusForbidden, rec.Code, "%s %s", c.path, tok)
			require.Equal(t, Body403, rec.Body.String())
		}
		require.Equal(t, http.StatusUnauthorized, call(t, s, http.MethodGet, c.path, nil, "bogus").Code)
	}
}

func q2(path string, q url.Values) url.Values {
	if path == invEndpoints {
		return q
	}
	return nil
}

func TestVulnEmptyAndScale(t *testing.T) {
	s := New(Options{Seed: 3, Agents: 50})
	p := decodePage(t, get(t, s, risksPath, nil))
	require.Empty(t, p.Data)
	require.Empty(t, s.AddRisks(3))
	require.Zero(t, s.DistinctApps())
	require.Empty(t, s.DistinctCVEs())
	require.Equal(t, http.StatusNotFound, get(t, s, xdrPath, nil).Code, "XDRAssets off")

	// ~1M risk rows: derived, never materialised.
	clk := newClock()
	big := New(Options{Seed: 1, Agents: 50000, Apps: 120, CVEs: 3000, Now: clk.Now})
	require.Greater(t, big.RiskCount(), 900_000)
	p = decodePage(t, get(t, big, risksPath, url.Values{"limit": {"1000"}, "skipCount": {"true"}}))
	require.Len(t, p.Data, 1000)
	p = decodePage(t, get(t, big, risksPath, url.Values{"limit": {"1000"}, "cursor": {*p.Pagination.NextCursor}}))
	require.Len(t, p.Data, 1000)
	wm := clk.Now()
	clk.Advance(time.Second)
	ch := big.ChangeRiskSeverity(20)
	rm := big.RemoveRisks(10)
	ad := big.AddRisks(10)
	rows := walkRisks(t, big, url.Values{"limit": {"7"}, "includeRemovals": {"true"}, "riskUpdatedDate__gte": {wm.Format(time.RFC3339Nano)}}, false)
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	want := slices.Compact(slices.Sorted(slices.Values(slices.Concat(ch, rm, ad))))
	require.Equal(t, want, ids)
	p = decodePage(t, get(t, big, risksPath, url.Values{"countOnly": {"true"}}))
	require.Equal(t, big.RiskCount()-10, p.Pagination.TotalItems)
}

func TestVulnConcurrentMutations(t *testing.T) {
	clk := newClock()
	s := newVulnSim(clk, func(o *Options) { o.XDRAssets = true })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 15 {
			s.ChangeRiskSeverity(3)
			s.RemoveRisks(2)
			s.AddRisks(2)
			s.ChangeAgents(2)
			clk.Advance(time.Millisecond)
		}
	}()
	// Totals may move while the tenant changes; ids must never repeat.
	looseWalk := func(path string, q url.Values) {
		seen := map[string]bool{}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 1000)
			var p struct {
				Data       []struct{ ID, CveID string }
				Pagination struct{ NextCursor *string }
			}
			rec := get(t, s, path, q)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			for _, d := range p.Data {
				k := d.ID + d.CveID
				require.False(t, seen[k], k)
				seen[k] = true
			}
			if p.Pagination.NextCursor == nil {
				return
			}
			q = url.Values{"cursor": {*p.Pagination.NextCursor}, "limit": {q.Get("limit")}}
		}
	}
	for range 3 {
		looseWalk(risksPath, url.Values{"limit": {"300"}, "includeRemovals": {"true"}})
		looseWalk(cvesPath, url.Values{"limit": {"50"}})
		looseWalk(xdrPath, url.Values{"limit": {"70"}})
	}
	<-done
	require.Equal(t, s.Truth("vulnerabilities"), rowHashes(t, walkRisks(t, s, url.Values{"limit": {"1000"}, "includeRemovals": {"true"}}, false)))
}
