package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type assetRow struct {
	ID, Name, Cpu, LastRebootDt, S1UpdatedAt, OsFamily, S1SiteID string
	SerialNumber                                                 *string
	Agent                                                        struct{ ID, UUID string }
	Raw                                                          map[string]json.RawMessage
	Hash                                                         string
}

func walkAssets(t testing.TB, s *Simulator, q url.Values, resend bool) []assetRow {
	t.Helper()
	var out []assetRow
	for _, raw := range walkAny(t, s, xdrPath, q, resend, "totalCount") {
		var a assetRow
		require.NoError(t, json.Unmarshal(raw, &a))
		require.NoError(t, json.Unmarshal(raw, &a.Raw))
		a.Hash = sha256Hex(raw)
		out = append(out, a)
	}
	return out
}

func assetHashes(t testing.TB, rows []assetRow) map[string]string {
	m := map[string]string{}
	for _, a := range rows {
		_, dup := m[a.ID]
		require.False(t, dup, a.ID)
		m[a.ID] = a.Hash
	}
	return m
}

func TestXDRAssetsWalk(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 5, Agents: 400, XDRAssets: true, Now: clk.Now})
	truth := s.Truth("xdr_assets")
	require.Len(t, truth, 400)
	rows := walkAssets(t, s, url.Values{"limit": {"77"}}, false)
	require.Equal(t, truth, assetHashes(t, rows))
	for _, a := range rows {
		for _, f := range []string{"id", "cpu", "lastRebootDt", "serialNumber", "category", "osFamily", "agent", "s1UpdatedAt", "networkInterfaces"} {
			require.Contains(t, a.Raw, f)
		}
		agJSON, ok := s.AgentJSON(a.Agent.ID)
		require.True(t, ok)
		var ag struct{ UUID, ComputerName, UpdatedAt, CpuID, OsStartTime string }
		require.NoError(t, json.Unmarshal(agJSON, &ag))
		require.Equal(t, ag.UUID, a.Agent.UUID)
		require.Equal(t, ag.ComputerName, a.Name)
		require.Equal(t, ag.UpdatedAt, a.S1UpdatedAt)
		require.Equal(t, ag.CpuID, a.Cpu)
		require.Equal(t, ag.OsStartTime, a.LastRebootDt)
	}
	// Pagination uses totalCount (purple-mcp), not totalItems.
	var p struct{ Pagination map[string]json.RawMessage }
	require.NoError(t, json.Unmarshal(get(t, s, xdrPath, url.Values{"limit": {"5"}, "skip": {"3"}}).Body.Bytes(), &p))
	require.NotContains(t, p.Pagination, "totalItems")
	require.Equal(t, "400", string(p.Pagination["totalCount"]))
	require.Equal(t, "5", string(p.Pagination["limit"]))
	require.Equal(t, "3", string(p.Pagination["skip"]))

	// Mutations: s1UpdatedAt window returns exactly the changed/added assets.
	wm := clk.Now()
	clk.Advance(time.Second)
	changed := s.ChangeAgents(6)
	added := s.AddAgents(2)
	removed := s.RemoveAgents(3)
	truth = s.Truth("xdr_assets")
	require.Len(t, truth, 399)
	require.Equal(t, truth, assetHashes(t, walkAssets(t, s, url.Values{"limit": {"1000"}, "sortBy": {"s1UpdatedAt"}}, true)))
	delta := walkAssets(t, s, url.Values{"limit": {"2"}, "sortBy": {"s1UpdatedAt"}, "s1UpdatedAt__gte": {wm.Format(time.RFC3339Nano)}}, false)
	var agentIDs []string
	for _, a := range delta {
		agentIDs = append(agentIDs, a.Agent.ID)
		require.Equal(t, truth[a.ID], a.Hash)
	}
	var want []string
	for _, id := range slices.Concat(changed, added) {
		if !slices.Contains(removed, id) {
			want = append(want, id)
		}
	}
	require.ElementsMatch(t, want, agentIDs)
	ms := strconv.FormatInt(wm.UnixMilli(), 10) + "-" + strconv.FormatInt(clk.Now().UnixMilli()+1, 10)
	between := walkAssets(t, s, url.Values{"limit": {"100"}, "s1UpdatedAt__between": {ms}}, false)
	require.Len(t, between, len(want))

	// Filters and Bearer auth.
	lin := walkAssets(t, s, url.Values{"limit": {"1000"}, "osFamily": {"linux"}}, false)
	nonLin := walkAssets(t, s, url.Values{"limit": {"1000"}, "osFamily__nin": {"Linux"}}, false)
	require.Equal(t, len(truth), len(lin)+len(nonLin))
	one := walkAssets(t, s, url.Values{"limit": {"10"}, "id__in": {lin[0].ID}}, false)
	require.Len(t, one, 1)
	site := strconv.FormatInt(s.scope.sites[0].id, 10)
	for _, a := range walkAssets(t, s, url.Values{"limit": {"1000"}, "siteIds": {site}}, false) {
		require.Equal(t, site, a.S1SiteID)
	}
	req := httptest.NewRequest(http.MethodGet, APIPrefix+xdrPath+"?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, http.StatusBadRequest, get(t, s, xdrPath, url.Values{"surfaces": {"ENDPOINT"}}).Code)
	require.Equal(t, http.StatusBadRequest, get(t, s, xdrPath, url.Values{"osFamily": {"BeOS"}}).Code)
}

func TestXDRRateLimit(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 5, Agents: 20, XDRAssets: true, Now: clk.Now, EnforceRateLimits: true})
	require.Equal(t, http.StatusOK, get(t, s, xdrPath, nil).Code)
	require.Equal(t, http.StatusTooManyRequests, get(t, s, xdrPath, nil).Code) // 25/s burst 1
	clk.Advance(40 * time.Millisecond)
	require.Equal(t, http.StatusOK, get(t, s, xdrPath, nil).Code)
}
