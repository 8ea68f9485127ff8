package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	threatsPath = "/threats"
	alertsPath  = "/cloud-detection/alerts"
)

// evItem is one threat or alert seen during a walk.
type evItem struct {
	ID, CreatedAt, UpdatedAt, ReportedAt string
	SiteID, AccountID, GroupID           string
	Raw                                  json.RawMessage
	Hash                                 string
}

func parseEvItem(t testing.TB, path string, raw json.RawMessage) evItem {
	t.Helper()
	var v struct {
		ID                string `json:"id"`
		ThreatInfo        struct{ CreatedAt, UpdatedAt string }
		AlertInfo         struct{ AlertID, CreatedAt, UpdatedAt, ReportedAt string }
		AgentRealtimeInfo struct {
			SiteID, AccountID, GroupID string
		}
		AgentDetectionInfo struct{ SiteID, AccountID string }
	}
	require.NoError(t, json.Unmarshal(raw, &v))
	sum := sha256.Sum256(raw)
	it := evItem{Raw: raw, Hash: hex.EncodeToString(sum[:])}
	if path == threatsPath {
		it.ID, it.CreatedAt, it.UpdatedAt = v.ID, v.ThreatInfo.CreatedAt, v.ThreatInfo.UpdatedAt
		it.SiteID, it.AccountID, it.GroupID = v.AgentRealtimeInfo.SiteID, v.AgentRealtimeInfo.AccountID, v.AgentRealtimeInfo.GroupID
		var top map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(raw, &top))
		require.NotContains(t, top, "createdAt", "threat timestamps live only under threatInfo")
		require.NotContains(t, top, "updatedAt")
	} else {
		it.ID, it.CreatedAt, it.UpdatedAt, it.ReportedAt = v.AlertInfo.AlertID, v.AlertInfo.CreatedAt, v.AlertInfo.UpdatedAt, v.AlertInfo.ReportedAt
		it.SiteID, it.AccountID = v.AgentDetectionInfo.SiteID, v.AgentDetectionInfo.AccountID
	}
	require.NotEmpty(t, it.ID)
	return it
}

// walkEv follows cursors to the end (resend: filters on every page) and
// checks totalItems is stable.
func walkEv(t testing.TB, s *Simulator, path string, q url.Values, resend bool) []evItem {
	t.Helper()
	var out []evItem
	cur := with(q)
	total := -1
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10000)
		p := decodePage(t, get(t, s, path, cur))
		if total >= 0 {
			require.Equal(t, total, p.Pagination.TotalItems, "totalItems changes between pages")
		}
		total = p.Pagination.TotalItems
		for _, raw := range p.Data {
			out = append(out, parseEvItem(t, path, raw))
		}
		if p.Pagination.NextCursor == nil {
			require.Equal(t, total, len(out))
			return out
		}
		require.NotEmpty(t, p.Data)
		next := url.Values{"cursor": {*p.Pagination.NextCursor}, "limit": {q.Get("limit")}}
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

func ids(items []evItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// newEvSim builds a tenant with threats and alerts and applies some
// mutations so the overlay is exercised.
func newEvSim(t testing.TB) (*Simulator, *fakeClock) {
	clk := newClock()
	s := New(Options{Seed: 5, Accounts: 2, SitesPerAccount: 2, Agents: 150, Threats: 240, Alerts: 180, Now: clk.Now})
	clk.Advance(time.Minute)
	require.Len(t, s.ResolveThreats(9), 9)
	clk.Advance(time.Second)
	require.Len(t, s.ChangeThreats(6), 6)
	require.Len(t, s.AddThreats(4), 4)
	require.Len(t, s.AddAlerts(3), 3)
	require.Len(t, s.ChangeAlertStatus(5, "RESOLVED"), 5)
	clk.Advance(time.Second)
	return s, clk
}

func TestEventsWalkEveryItemOnce(t *testing.T) {
	s, _ := newEvSim(t)
	for _, stream := range []struct {
		path, name string
		sorts      []string
		n          int
	}{
		{threatsPath, "threats", []string{"", "id", "createdAt", "updatedAt"}, 244},
		{alertsPath, "alerts", []string{"", "id", "alertInfoCreatedAt", "createdAt", "alertInfoReportedAt"}, 183},
	} {
		truth := s.Truth(stream.name)
		require.Len(t, truth, stream.n)
		for i, sortBy := range stream.sorts {
			for _, order := range []string{"asc", "desc"} {
				t.Run(stream.name+"_"+sortBy+"_"+order, func(t *testing.T) {
					q := url.Values{"limit": {"23"}, "sortOrder": {order}}
					if sortBy != "" {
						q.Set("sortBy", sortBy)
					}
					items := walkEv(t, s, stream.path, q, i%2 == 0)
					require.Len(t, items, len(truth))
					seen := map[string]bool{}
					for _, it := range items {
						require.False(t, seen[it.ID], "duplicate %s", it.ID)
						seen[it.ID] = true
						require.Equal(t, truth[it.ID], it.Hash, "hash of %s", it.ID)
					}
					var want []string
					var err error
					if stream.path == threatsPath {
						want, err = s.MatchThreats(q)
						b, ok := s.ThreatJSON(items[0].ID)
						require.True(t, ok)
						require.JSONEq(t, string(items[0].Raw), string(b))
					} else {
						want, err = s.MatchAlerts(q)
						b, ok := s.AlertJSON(items[0].ID)
						require.True(t, ok)
						require.Equal(t, string(items[0].Raw), string(b))
					}
					require.NoError(t, err)
					require.Equal(t, want, ids(items), "order")
				})
			}
		}
	}
}

func TestThreatsUpdatedAtAfterMutations(t *testing.T) {
	s, clk := newEvSim(t)
	mark := clk.Now().UTC().Format(time.RFC3339Nano)
	before := s.Truth("threats")
	clk.Advance(time.Second)
	resolved := s.ResolveThreats(7)
	require.Len(t, resolved, 7)
	q := url.Values{"limit": {"3"}, "sortBy": {"updatedAt"}, "updatedAt__gt": {mark}}
	got := walkEv(t, s, threatsPath, q, false)
	require.ElementsMatch(t, resolved, ids(got))
	for _, it := range got {
		var v struct {
			ThreatInfo       struct{ IncidentStatus, MitigationStatus, AnalystVerdict, UpdatedAt string }
			MitigationStatus []struct{ Action, Status string }
		}
		require.NoError(t, json.Unmarshal(it.Raw, &v))
		require.Equal(t, "resolved", v.ThreatInfo.IncidentStatus)
		require.Equal(t, "mitigated", v.ThreatInfo.MitigationStatus)
		require.Equal(t, "true_positive", v.ThreatInfo.AnalystVerdict)
		require.Equal(t, clk.Now().UTC().Truncate(time.Microsecond).Format(tsLayout), v.ThreatInfo.UpdatedAt)
		require.NotEmpty(t, v.MitigationStatus)
		require.NotEqual(t, before[it.ID], it.Hash)
	}
	after := s.Truth("threats")
	changed := 0
	for id, h := range after {
		if before[id] != h {
			changed++
		}
	}
	require.Equal(t, 7, changed, "only the resolved threats changed")

	// Changes and additions land after the mark too; gte on the exact
	// updatedAt of the first one includes it.
	clk.Advance(time.Second)
	mark2 := clk.Now().UTC().Truncate(time.Microsecond).Format(tsLayout)
	changedIDs := s.ChangeThreats(4)
	added := s.AddThreats(2)
	got = walkEv(t, s, threatsPath, url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "updatedAt__gte": {mark2}}, true)
	require.ElementsMatch(t, append(changedIDs, added...), ids(got))
	all := walkEv(t, s, threatsPath, url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}}, true)
	require.Len(t, all, s.ThreatCount())
	require.ElementsMatch(t, ids(got), ids(all[len(all)-6:]), "changed threats move to the end of an updatedAt walk")
}

func TestCreatedAtWindowsPartition(t *testing.T) {
	s, clk := newEvSim(t)
	for _, path := range []string{threatsPath, alertsPath} {
		t.Run(path, func(t *testing.T) {
			sortBy := "createdAt"
			all := walkEv(t, s, path, url.Values{"limit": {"1000"}, "sortBy": {sortBy}}, false)
			// Boundaries: exact createdAt values of items (boundary
			// inclusion), a second-granular one, and the open ends.
			bounds := []string{
				clk.Now().Add(-400 * 24 * time.Hour).Format(time.RFC3339),
				all[20].CreatedAt, all[21].CreatedAt,
				mustParse(t, all[70].CreatedAt).Truncate(time.Second).Format(time.RFC3339),
				all[len(all)/2].CreatedAt,
				mustParse(t, all[len(all)-10].CreatedAt).Format("2006-01-02 15:04:05.000000+00:00"),
				all[len(all)-1].CreatedAt,
				clk.Now().Add(time.Hour).Format(time.RFC3339Nano),
			}
			seen := map[string]int{}
			for i := 0; i+1 < len(bounds); i++ {
				q := url.Values{"limit": {"17"}, "sortBy": {sortBy}, "createdAt__gte": {bounds[i]}, "createdAt__lt": {bounds[i+1]}}
				part := walkEv(t, s, path, q, i%2 == 0)
				lo, hi := mustParse(t, bounds[i]), mustParse(t, bounds[i+1])
				for _, it := range part {
					at := mustParse(t, it.CreatedAt)
					require.True(t, !at.Before(lo) && at.Before(hi), "%s outside [%s, %s)", it.CreatedAt, bounds[i], bounds[i+1])
					seen[it.ID]++
				}
				var want []string
				var err error
				if path == threatsPath {
					want, err = s.MatchThreats(q)
				} else {
					want, err = s.MatchAlerts(q)
				}
				require.NoError(t, err)
				require.Equal(t, want, ids(part))
			}
			require.Len(t, seen, len(all), "windows cover the whole set")
			for id, n := range seen {
				require.Equal(t, 1, n, "%s in %d windows", id, n)
			}
		})
	}
}

func mustParse(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := parseTimestamp(s)
	require.NoError(t, err, s)
	return at
}

// TestSeedFilterExamples runs every filter example of Torq's SentinelOne
// data connector docs (shared/seeds/004) against the oracle.
func TestSeedFilterExamples(t *testing.T) {
	s, _ := newEvSim(t)
	mid := walkEv(t, s, threatsPath, url.Values{"limit": {"1000"}, "sortBy": {"createdAt"}}, false)[120].CreatedAt
	threats := []struct {
		q        url.Values
		nonEmpty bool
	}{
		{url.Values{"confidenceLevels": {"malicious"}, "incidentStatuses": {"unresolved"}}, true},
		{url.Values{"confidenceLevels": {"malicious,suspicious"}}, true},
		{url.Values{"analystVerdicts": {"true_positive"}}, true},
		{url.Values{"incidentStatuses": {"unresolved,in_progress"}}, true},
		{url.Values{"mitigationStatuses": {"not_mitigated"}}, true},
		{url.Values{"createdAt__lte": {"2024-01-16T00:00:00.000000Z"}}, false},
		{url.Values{"createdAt__lte": {mid}}, true},
		{url.Values{"computerName__contains": {"DESKTOP-,john-laptop"}}, true},
		{url.Values{"osTypes": {"windows,macos,linux"}}, true},
		{url.Values{"resolved": {"false"}}, true},
		{url.Values{"resolved": {"True"}}, true},
		{url.Values{"sortBy": {"createdAt"}, "sortOrder": {"desc"}}, true},
		{url.Values{"confidenceLevels": {"malicious,suspicious"}, "analystVerdicts": {"true_positive"},
			"incidentStatuses": {"unresolved,in_progress"}, "mitigationStatuses": {"not_mitigated"},
			"createdAt__lte": {mid}, "computerName__contains": {"DESKTOP-,john-laptop"}, "osTypes": {"windows,macos,linux"},
			"resolved": {"false"}, "sortBy": {"createdAt"}, "sortOrder": {"desc"}}, false},
		{url.Values{"confidenceLevelsNin": {"n/a"}, "incidentStatusesNin": {"resolved"}, "classifications": {"Malware,trojan"},
			"analystVerdictsNin": {"false_positive"}, "mitigationStatusesNin": {"marked_as_benign"}, "osTypesNin": {"linux"}}, true},
		{url.Values{"displayName": {"mimikatz,invoice"}, "sortBy": {"updatedAt"}}, true},
	}
	for _, tc := range threats {
		t.Run("threats?"+tc.q.Encode(), func(t *testing.T) {
			want, err := s.MatchThreats(tc.q)
			require.NoError(t, err)
			if tc.nonEmpty {
				require.NotEmpty(t, want)
			}
			got := walkEv(t, s, threatsPath, with(tc.q, "limit", "17"), true)
			require.Equal(t, want, ids(got))
			require.Less(t, len(want), s.ThreatCount()+1)
		})
	}
	alerts := []struct {
		q        url.Values
		nonEmpty bool
	}{
		{url.Values{"severity": {"High,Critical"}, "incidentStatus": {"IN_PROGRESS,UNRESOLVED"}}, true},
		{url.Values{"severity": {"high,CRITICAL"}}, true},
		{url.Values{"incidentStatus": {"IN_PROGRESS,UNRESOLVED"}}, true},
		{url.Values{"analystVerdict": {"TRUE_POSITIVE,FALSE_POSITIVE"}}, true},
		{url.Values{"ruleName__contains": {"STAR-rule,lateral-movement"}}, true},
		{url.Values{"createdAt__lte": {"2024-01-16T00:00:00.000000Z"}}, false},
		{url.Values{"reportedAt__gte": {"2024-01-15T00:00:00.000000Z"}}, true},
		{url.Values{"reportedAt__gte": {mid}}, true},
		{url.Values{"osType": {"windows,macos,linux"}}, true},
		{url.Values{"sortBy": {"createdAt"}, "sortOrder": {"desc"}}, true},
		{url.Values{"severity": {"High,Critical"}, "incidentStatus": {"IN_PROGRESS,UNRESOLVED"},
			"analystVerdict": {"TRUE_POSITIVE,FALSE_POSITIVE"}, "ruleName__contains": {"STAR-rule,lateral-movement"},
			"reportedAt__gte": {"2024-01-15T00:00:00.000000Z"}, "osType": {"windows,macos,linux"},
			"sortBy": {"createdAt"}, "sortOrder": {"desc"}}, false},
	}
	for _, tc := range alerts {
		t.Run("alerts?"+tc.q.Encode(), func(t *testing.T) {
			want, err := s.MatchAlerts(tc.q)
			require.NoError(t, err)
			if tc.nonEmpty {
				require.NotEmpty(t, want)
			}
			got := walkEv(t, s, alertsPath, with(tc.q, "limit", "17"), false)
			require.Equal(t, want, ids(got))
			p := decodePage(t, get(t, s, alertsPath, with(tc.q, "countOnly", "true")))
			require.Equal(t, len(want), p.Pagination.TotalItems)
			require.Empty(t, p.Data)
		})
	}
	// Severity really is matched on ruleInfo.severity.
	for _, it := range walkEv(t, s, alertsPath, url.Values{"limit": {"1000"}, "severity": {"Low"}}, false) {
		var v struct{ RuleInfo struct{ Severity string } }
		require.NoError(t, json.Unmarshal(it.Raw, &v))
		require.Equal(t, "Low", v.RuleInfo.Severity)
	}
}

func TestEventsScoping(t *testing.T) {
	s, _ := newEvSim(t)
	site := s.scope.sites[1]
	acc := s.scope.accounts[1]
	grp := s.scope.groups[2]
	for _, tc := range []struct {
		path string
		q    url.Values
		ok   func(evItem) bool
	}{
		{threatsPath, url.Values{"siteIds": {itoa(site.id)}}, func(it evItem) bool { return it.SiteID == itoa(site.id) }},
		{threatsPath, url.Values{"accountIds": {itoa(acc.id)}}, func(it evItem) bool { return it.AccountID == itoa(acc.id) }},
		{threatsPath, url.Values{"groupIds": {itoa(grp.id)}, "accountIds": {itoa(s.scope.accounts[0].id)}}, func(it evItem) bool { return it.GroupID == itoa(grp.id) }},
		{alertsPath, url.Values{"siteIds": {itoa(site.id)}}, func(it evItem) bool { return it.SiteID == itoa(site.id) }},
		{alertsPath, url.Values{"accountIds": {itoa(acc.id)}}, func(it evItem) bool { return it.AccountID == itoa(acc.id) }},
	} {
		t.Run(tc.path+"?"+tc.q.Encode(), func(t *testing.T) {
			all := walkEv(t, s, tc.path, url.Values{"limit": {"1000"}}, false)
			var want []string
			for _, it := range all {
				if tc.ok(it) {
					want = append(want, it.ID)
				}
			}
			require.NotEmpty(t, want)
			require.Less(t, len(want), len(all))
			got := walkEv(t, s, tc.path, with(tc.q, "limit", "19"), true)
			require.Equal(t, want, ids(got))
		})
	}
	// agentIds and ids on threats.
	all := walkEv(t, s, threatsPath, url.Values{"limit": {"1000"}}, false)
	var first struct{ AgentRealtimeInfo struct{ AgentID string } }
	require.NoError(t, json.Unmarshal(all[0].Raw, &first))
	q := url.Values{"agentIds": {first.AgentRealtimeInfo.AgentID}}
	want, err := s.MatchThreats(q)
	require.NoError(t, err)
	require.Contains(t, want, all[0].ID)
	require.Equal(t, want, ids(walkEv(t, s, threatsPath, with(q, "limit", "2"), false)))
	q = url.Values{"ids": {all[9].ID + "," + all[3].ID + ",1999999999999999999"}, "sortBy": {"updatedAt"}}
	want, err = s.MatchThreats(q)
	require.NoError(t, err)
	require.Len(t, want, 2)
	require.Equal(t, want, ids(walkEv(t, s, threatsPath, with(q, "limit", "1"), true)))
}

func TestAlertStatusChanges(t *testing.T) {
	s, clk := newEvSim(t)
	before := s.Truth("alerts")
	clk.Advance(time.Minute)
	all := walkEv(t, s, alertsPath, url.Values{"limit": {"1000"}, "sortBy": {"alertInfoCreatedAt"}}, false)
	pick := []string{all[0].ID, all[50].ID, all[len(all)-1].ID}
	s.ChangeAlertIDs(pick, "IN_PROGRESS")
	changed := s.ChangeAlertStatus(4, "resolved")
	require.Len(t, changed, 4)
	after := s.Truth("alerts")
	for _, id := range append(pick, changed...) {
		require.NotEqual(t, before[id], after[id], id)
		b, ok := s.AlertJSON(id)
		require.True(t, ok)
		var v struct {
			AlertInfo struct{ IncidentStatus, UpdatedAt string }
		}
		require.NoError(t, json.Unmarshal(b, &v))
		require.Equal(t, clk.Now().UTC().Truncate(time.Microsecond).Format(tsLayout), v.AlertInfo.UpdatedAt)
		if slices.Contains(pick, id) && !slices.Contains(changed, id) {
			require.Equal(t, "In progress", v.AlertInfo.IncidentStatus)
		} else if slices.Contains(changed, id) {
			require.Equal(t, "Resolved", v.AlertInfo.IncidentStatus)
		}
	}
	got := walkEv(t, s, alertsPath, url.Values{"limit": {"1000"}, "incidentStatus": {"IN_PROGRESS"}}, false)
	for _, id := range pick {
		if !slices.Contains(changed, id) {
			require.Contains(t, ids(got), id)
		}
	}
	require.Panics(t, func() { s.ChangeAlertStatus(1, "bogus") })
	_, ok := s.AlertJSON("123")
	require.False(t, ok)
}

func TestEventsErrorsAndPermissions(t *testing.T) {
	s, _ := newEvSim(t)
	s.AddToken(Token{Value: "threats-only", Permissions: []string{"Threats.view"}})
	s.AddToken(Token{Value: "alerts-only", Permissions: []string{"Custom Alerts.view"}})
	s.AddToken(Token{Value: "endpoints", Permissions: []string{"Endpoints.view"}})
	code := func(path, tok string) int {
		return call(t, s, http.MethodGet, path, url.Values{"limit": {"1"}}, tok).Code
	}
	require.Equal(t, 200, code(threatsPath, "threats-only"))
	require.Equal(t, 403, code(alertsPath, "threats-only"))
	require.Equal(t, 200, code(alertsPath, "alerts-only"))
	require.Equal(t, 403, code(threatsPath, "alerts-only"))
	require.Equal(t, 403, code(threatsPath, "endpoints"))
	require.Equal(t, Body403, call(t, s, http.MethodGet, threatsPath, nil, "endpoints").Body.String())
	require.Equal(t, 401, code(threatsPath, ""))
	require.Equal(t, 405, call(t, s, http.MethodPost, threatsPath, nil, DefaultToken).Code)

	for _, tc := range []struct {
		path   string
		q      url.Values
		detail string
	}{
		{alertsPath, url.Values{"updatedAt__gt": {"2024-01-01T00:00:00Z"}}, "updatedAt__gt: Unknown field."},
		{alertsPath, url.Values{"updatedAt__gte": {"2024-01-01T00:00:00Z"}}, "updatedAt__gte: Unknown field."},
		{alertsPath, url.Values{"incidentStatuses": {"RESOLVED"}}, "incidentStatuses: Unknown field."},
		{alertsPath, url.Values{"severity": {"Urgent"}}, "severity: Urgent: Must be one of: Low, Medium, High, Critical."},
		{alertsPath, url.Values{"sortBy": {"updatedAt"}}, ""},
		{threatsPath, url.Values{"confidenceLevels": {"evil"}}, "confidenceLevels: evil: Must be one of: malicious, suspicious, n/a."},
		{threatsPath, url.Values{"resolved": {"maybe"}}, "resolved: maybe: Not a valid boolean."},
		{threatsPath, url.Values{"createdAt__gt": {"yesterday"}}, ""},
		{threatsPath, url.Values{"limit": {"1001"}}, "Limit must be greater than or equals to 1 and less than equals to 1000"},
		{threatsPath, url.Values{"siteIds": {"0"}}, "siteIds: 0: Must be greater than or equal to 100000000000000000."},
		{threatsPath, url.Values{"engines": {"reputation"}}, "engines: not supported by the simulator."},
		{threatsPath, url.Values{"bogus": {"1"}}, "bogus: Unknown field."},
	} {
		rec := get(t, s, tc.path, tc.q)
		require.Equal(t, 400, rec.Code, "%s?%s: %s", tc.path, tc.q.Encode(), rec.Body.String())
		if tc.detail != "" {
			require.Equal(t, tc.detail, errDetail(t, rec))
		}
	}

	// Cursor tampering, foreign cursors and changed filters.
	for _, path := range []string{threatsPath, alertsPath} {
		p := decodePage(t, get(t, s, path, url.Values{"limit": {"5"}, "sortBy": {"createdAt"}}))
		require.NotNil(t, p.Pagination.NextCursor)
		c := *p.Pagination.NextCursor
		tampered := c[:len(c)-3] + map[bool]string{true: "AAA", false: "BBB"}[c[len(c)-3:] != "AAA"]
		for _, q := range []url.Values{
			{"cursor": {tampered}},
			{"cursor": {"not-a-cursor"}},
			{"cursor": {c}, "sortBy": {"id"}},
			{"cursor": {c}, "siteIds": {itoa(s.scope.sites[0].id)}},
		} {
			rec := get(t, s, path, q)
			require.Equal(t, 400, rec.Code, "%v", q)
			require.Equal(t, BodyInvalidCursor, rec.Body.String())
		}
		other := map[string]string{threatsPath: alertsPath, alertsPath: threatsPath}[path]
		require.Equal(t, BodyInvalidCursor, get(t, s, other, url.Values{"cursor": {c}}).Body.String())
		require.Equal(t, 200, get(t, s, path, url.Values{"cursor": {c}}).Code)
	}

	// skipCount and countOnly.
	p := decodePage(t, get(t, s, threatsPath, url.Values{"skipCount": {"true"}}))
	require.Equal(t, 0, p.Pagination.TotalItems)
	require.Len(t, p.Data, 10)
	p = decodePage(t, get(t, s, threatsPath, url.Values{"countOnly": {"true"}}))
	require.Equal(t, s.ThreatCount(), p.Pagination.TotalItems)
	require.Empty(t, p.Data)
	_, err := s.MatchAlerts(url.Values{"updatedAt__gt": {"2024-01-01T00:00:00Z"}})
	require.Error(t, err)
}

// TestEventsNoAgentsAndEmpty covers tenants without agents or events.
func TestEventsNoAgentsAndEmpty(t *testing.T) {
	s := New(Options{Seed: 2, Agents: -1, Threats: 5, Alerts: 5})
	require.Len(t, walkEv(t, s, threatsPath, url.Values{"limit": {"2"}}, false), 5)
	require.Len(t, walkEv(t, s, alertsPath, url.Values{"limit": {"2"}}, false), 5)
	e := New(Options{Seed: 2, Agents: 10})
	p := decodePage(t, get(t, e, threatsPath, nil))
	require.Empty(t, p.Data)
	require.Nil(t, p.Pagination.NextCursor)
	require.Empty(t, e.Truth("alerts"))
	require.Len(t, e.AddThreats(2), 2)
	require.Len(t, walkEv(t, e, threatsPath, url.Values{"limit": {"1"}, "sortBy": {"updatedAt"}}, false), 2)
}

// TestEventsScale checks a 200k-threat / 100k-alert tenant answers pages
// and filtered counts without materializing the streams.
func TestEventsScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale")
	}
	clk := newClock()
	s := New(Options{Seed: 9, Agents: 5000, Threats: 200_000, Alerts: 100_000, Now: clk.Now})
	clk.Advance(time.Second)
	s.ResolveThreats(500)
	s.ChangeAlertStatus(500, "RESOLVED")
	start := time.Now()
	p := decodePage(t, get(t, s, threatsPath, url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "sortOrder": {"desc"}, "skipCount": {"true"}}))
	require.Len(t, p.Data, 1000)
	p = decodePage(t, get(t, s, threatsPath, url.Values{"limit": {"1"}, "incidentStatuses": {"resolved"}, "updatedAt__gte": {clk.Now().Truncate(time.Microsecond).Format(time.RFC3339Nano)}}))
	require.Equal(t, 500, p.Pagination.TotalItems)
	p = decodePage(t, get(t, s, alertsPath, url.Values{"limit": {"1"}, "countOnly": {"true"}, "severity": {"Critical"}}))
	require.Greater(t, p.Pagination.TotalItems, 10_000)
	p = decodePage(t, get(t, s, alertsPath, url.Values{"limit": {"1000"}, "sortBy": {"alertInfoCreatedAt"}, "createdAt__gte": {clk.Now().Add(-24 * time.Hour).Format(time.RFC3339)}}))
	require.Len(t, p.Data, 1000)
	t.Logf("4 requests on 200k threats / 100k alerts: %s", time.Since(start))
}
