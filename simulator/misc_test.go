package simulator

import (
	"encoding/json"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2024, 1, 1, 0, 0, 0, 123000000, time.UTC)
	for _, s := range []string{
		"2024-01-01T00:00:00.123Z", "2024-01-01T00:00:00.123000Z", "2024-01-01T00:00:00.123+00:00",
		"2024-01-01 00:00:00.123000+00:00", "2024-01-01T02:00:00.123+02:00", "2024-01-01 00:00:00.123000 00:00",
		"2024-01-01T00:00:00.123", "2024-01-01T00:00:00.123+0000",
	} {
		got, err := parseTimestamp(s)
		require.NoError(t, err, s)
		require.True(t, want.Equal(got), "%s → %s", s, got)
	}
	for _, s := range []string{"2024-01-01T00:00:00Z", "2024-01-01"} {
		_, err := parseTimestamp(s)
		require.NoError(t, err, s)
	}
	_, err := parseTimestamp("01/01/2024")
	require.Error(t, err)

	var r timeRange = fullRange
	require.NoError(t, r.narrow("between", "1514978890136-1514978650130"))
	require.Equal(t, int64(1514978650130000), r.lo)
	require.Equal(t, int64(1514978890136999), r.hi)
}

func TestScopeEndpoints(t *testing.T) {
	s := New(Options{Seed: 2, Accounts: 2, SitesPerAccount: 3, GroupsPerSite: 4, Agents: 240})
	var sites struct {
		Data struct {
			AllSites struct{ ActiveLicenses int } `json:"allSites"`
			Sites    []struct {
				ID, AccountID  string
				ActiveLicenses int
			} `json:"sites"`
		} `json:"data"`
		Pagination struct{ TotalItems int } `json:"pagination"`
	}
	require.NoError(t, json.Unmarshal(get(t, s, "/sites", url.Values{"limit": {"100"}}).Body.Bytes(), &sites))
	sitesPage := func(q url.Values) int {
		var p struct{ Pagination struct{ TotalItems int } }
		require.NoError(t, json.Unmarshal(get(t, s, "/sites", q).Body.Bytes(), &p))
		return p.Pagination.TotalItems
	}
	require.Len(t, sites.Data.Sites, 6)
	require.Equal(t, 6, sites.Pagination.TotalItems)
	require.Equal(t, 240, sites.Data.AllSites.ActiveLicenses)
	sum := 0
	for _, st := range sites.Data.Sites {
		sum += st.ActiveLicenses
	}
	require.Equal(t, 240, sum)

	accs, _ := walk(t, s, "/accounts", url.Values{"limit": {"1"}}, false)
	require.Len(t, accs, 2)
	groups, pages := walk(t, s, "/groups", url.Values{"limit": {"5"}, "sortBy": {"updatedAt"}}, true)
	require.Len(t, groups, 24)
	require.Equal(t, 5, pages)
	bySite, _ := walk(t, s, "/groups", url.Values{"limit": {"300"}, "siteIds": {sites.Data.Sites[1].ID}}, false)
	require.Len(t, bySite, 4)
	require.Equal(t, 3, sitesPage(url.Values{"accountIds": {accs[1].ID}}))

	// Agents in a site filter match the site's activeLicenses.
	n := decodePage(t, get(t, s, "/agents", url.Values{"siteIds": {sites.Data.Sites[2].ID}, "isDecommissioned": {"true,false"}, "countOnly": {"true"}}))
	require.Equal(t, sites.Data.Sites[2].ActiveLicenses, n.Pagination.TotalItems)
	require.Equal(t, "{\"data\":{\"build\":\"30\",\"latestAgentVersion\":\"24.2.3.471\",\"patch\":\"4\",\"release\":\"Z\",\"version\":\"Z SP4\"}}\n",
		get(t, s, "/system/info", nil).Body.String())
}

func TestAgentVariety(t *testing.T) {
	s := New(Options{Seed: 4, Agents: 300})
	items, _ := walk(t, s, "/agents", url.Values{"limit": {"1000"}, "isDecommissioned": {"true,false"}}, false)
	osTypes, machineTypes := map[string]bool{}, map[string]bool{}
	nullSerial, nullExtIP, tagged, gw := 0, 0, 0, 0
	for _, a := range items {
		raw, ok := s.AgentJSON(a.ID)
		require.True(t, ok)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		osTypes[m["osType"].(string)] = true
		machineTypes[m["machineType"].(string)] = true
		if m["serialNumber"] == nil {
			nullSerial++
		}
		if m["externalIp"] == nil {
			nullExtIP++
		}
		if len(m["tags"].(map[string]any)["sentinelone"].([]any)) > 0 {
			tagged++
		}
		ni := m["networkInterfaces"].([]any)[0].(map[string]any)
		for _, k := range []string{"inet", "inet6", "physical", "gatewayIp", "gatewayMacAddress", "id", "name"} {
			require.Contains(t, ni, k)
		}
		if ni["gatewayIp"] != nil {
			gw++
		}
		for _, k := range []string{"osStartTime", "serialNumber", "modelName", "cpuId", "cpuCount", "coreCount", "totalMemory", "uuid", "lastActiveDate", "registeredAt"} {
			require.Contains(t, m, k)
		}
	}
	require.Len(t, osTypes, 4)
	require.GreaterOrEqual(t, len(machineTypes), 5)
	for _, n := range []int{nullSerial, nullExtIP, tagged, gw} {
		require.Greater(t, n, 0)
		require.Less(t, n, 300)
	}
}

// TestMillionAgents checks a 1M-agent tenant answers pages without
// materializing agents: heap stays small and per-page work is O(page).
func TestMillionAgents(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clk := newClock()
	s := New(Options{Seed: 42, Agents: 1_000_000, Now: clk.Now})
	require.Equal(t, 1_000_000, s.AgentCount())

	p := decodePage(t, get(t, s, "/agents", url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "skipCount": {"true"}}))
	require.Len(t, p.Data, 1000)
	p = decodePage(t, get(t, s, "/agents", url.Values{"limit": {"1000"}, "cursor": {*p.Pagination.NextCursor}}))
	require.Len(t, p.Data, 1000)
	clk.Advance(time.Second)
	changed := s.ChangeAgents(100)
	s.AddAgents(50)
	s.RemoveAgents(25)
	require.Equal(t, 1_000_025, s.AgentCount())
	tot := decodePage(t, get(t, s, "/agents", url.Values{"countOnly": {"true"}, "isDecommissioned": {"true,false"}}))
	require.Equal(t, 1_000_025, tot.Pagination.TotalItems)

	// The newest agents by updatedAt are the changed/added ones: the tail of a
	// desc walk, found without scanning.
	recent := decodePage(t, get(t, s, "/agents", url.Values{
		"limit": {"1000"}, "sortBy": {"updatedAt"}, "sortOrder": {"desc"}, "isDecommissioned": {"true,false"},
		"updatedAt__gte": {clk.Now().Truncate(time.Microsecond).Format(time.RFC3339Nano)}}))
	require.LessOrEqual(t, len(recent.Data), 150)
	require.GreaterOrEqual(t, len(recent.Data), len(changed)+50-25)

	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	require.Less(t, grown, int64(16<<20), "heap grew by %d bytes", grown)

	// A deep page in the middle costs O(page): allocations independent of N.
	q := url.Values{"limit": {"10"}, "sortBy": {"updatedAt"}, "skipCount": {"true"},
		"updatedAt__gte": {time.UnixMicro(s.agents.baseUpdated(700_000)).UTC().Format(time.RFC3339Nano)}}
	allocs := testing.AllocsPerRun(5, func() { get(t, s, "/agents", q) })
	require.Less(t, allocs, 5000.0)
}
