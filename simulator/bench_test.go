package simulator

import (
	"net/url"
	"strconv"
	"testing"
)

var benchSim = func() func() *Simulator {
	var s *Simulator
	return func() *Simulator {
		if s == nil {
			s = New(Options{Seed: 1, Agents: 1_000_000})
			s.ChangeAgents(1000)
			s.AddAgents(1000)
			s.RemoveAgents(1000)
		}
		return s
	}
}()

// BenchmarkAgentsPage1000 measures one 1000-agent page of a 1M-agent tenant.
func BenchmarkAgentsPage1000(b *testing.B) {
	s := benchSim()
	q := url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "skipCount": {"true"}}
	b.ReportAllocs()
	for b.Loop() {
		get(b, s, "/agents", q)
	}
}

// BenchmarkAgentsFilteredCount measures an uncached filtered count over 1M agents.
func BenchmarkAgentsFilteredCount(b *testing.B) {
	s := benchSim()
	site := s.scope.sites[1].id
	b.ReportAllocs()
	for b.Loop() {
		s.agents.mutated() // drop the count cache
		get(b, s, "/agents", url.Values{"countOnly": {"true"}, "siteIds": {itoa(site)}})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkAlertsPage1000 measures one 1000-alert page of a 100k-alert tenant, as a backfill
// window asks for it.
func BenchmarkAlertsPage1000(b *testing.B) {
	s := New(Options{Seed: 1, Agents: 1000, Alerts: 100_000})
	q := url.Values{"limit": {"1000"}, "sortBy": {"alertInfoCreatedAt"}, "sortOrder": {"asc"},
		"createdAt__gte": {"2000-01-01T00:00:00Z"}}
	b.ReportAllocs()
	for b.Loop() {
		get(b, s, "/cloud-detection/alerts", q)
	}
}
