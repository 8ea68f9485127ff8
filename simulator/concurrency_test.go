package simulator

import (
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConcurrentUse(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 8, Agents: 200, Threats: 100, Alerts: 100, Now: clk.Now, EnforceRateLimits: true})
	s.SetRateLimits(false, false)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			q := url.Values{"limit": {"25"}, "sortBy": {[]string{"id", "updatedAt", "createdAt", "updatedAt"}[w]}, "isDecommissioned": {"true,false"}}
			for range 5 {
				for {
					rec := get(t, s, "/agents", q)
					if rec.Code != 200 {
						t.Errorf("status %d: %s", rec.Code, rec.Body.String())
						return
					}
					p := decodePage(t, rec)
					if p.Pagination.NextCursor == nil {
						break
					}
					q = url.Values{"limit": {"25"}, "cursor": {*p.Pagination.NextCursor}}
				}
				q = url.Values{"limit": {"25"}, "sortBy": {"updatedAt"}}
				get(t, s, "/groups", nil)
				get(t, s, "/threats", url.Values{"limit": {"50"}, "sortBy": {"updatedAt"}, "incidentStatuses": {"resolved"}})
				get(t, s, "/cloud-detection/alerts", url.Values{"limit": {"50"}, "severity": {"High"}})
				get(t, s, "/sites", nil)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.ChangeAgents(3)
			s.AddAgents(2)
			s.RemoveAgents(1)
			s.ResolveThreats(2)
			s.ChangeThreats(1)
			s.AddThreats(1)
			s.AddAlerts(1)
			s.ChangeAlertStatus(2, "IN_PROGRESS")
			s.SetFaults(Faults{})
			s.AddToken(Token{Value: "x"})
			s.RevokeToken("x")
			_ = s.Requests()
			_ = s.CountRequests("GET", "/agents")
		}
	})
	wg.Wait()
	require.Equal(t, 220, s.AgentCount())
	require.Len(t, s.Truth("agents"), 220)
	require.Len(t, s.Truth("threats"), 120)
	require.Len(t, s.Truth("alerts"), 120)
	require.Nil(t, s.Truth("nope"))
}
