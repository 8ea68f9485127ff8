package sentinelone

import (
	"sort"
	"strings"

	"golang.org/x/time/rate"
)

// RateLimit is a client-side token bucket for every path that starts with Prefix
// (relative to /web/api/v2.1, plain string prefix, longest match wins). An empty
// Prefix is the default for paths no other entry matches. PerSecond <= 0 means
// unlimited. Burst < 1 is treated as 1.
type RateLimit struct {
	Prefix    string
	PerSecond float64
	Burst     int
}

// DefaultRateLimits returns the per-path table from the reference doc §4.2
// (SentinelOne's published per-token limits), plus a 10/s default for paths the
// table does not list (e.g. /cloud-detection/alerts, /application-management/risks,
// /groups, /system/info), matching the 10 QPS other connectors use.
func DefaultRateLimits() []RateLimit {
	return []RateLimit{
		{Prefix: "", PerSecond: 10, Burst: 10}, // default for unlisted paths
		{Prefix: "/accounts", PerSecond: 100, Burst: 10},
		{Prefix: "/sites", PerSecond: 100, Burst: 10},
		{Prefix: "/agents", PerSecond: 25, Burst: 1},
		{Prefix: "/threats", PerSecond: 10, Burst: 50},
		{Prefix: "/threats/", PerSecond: 100, Burst: 1000},
		{Prefix: "/activities", PerSecond: 10, Burst: 30},
		{Prefix: "/application-management/inventory", PerSecond: 3, Burst: 1},
		{Prefix: "/application-management/scan", PerSecond: 1.0 / (8 * 3600), Burst: 1},
		{Prefix: "/application-management/risks", PerSecond: 10, Burst: 10}, // unlisted: default
		{Prefix: "/cloud-detection/alerts", PerSecond: 10, Burst: 10},       // unlisted: default
		{Prefix: "/assets", PerSecond: 0, Burst: 0},                         // "10 000 req/s per Console": unlimited
		{Prefix: "/xdr", PerSecond: 25, Burst: 1},
		{Prefix: "/cloud-detection/rules", PerSecond: 30.0 / 60, Burst: 1},
		{Prefix: "/detection-library/rules", PerSecond: 30.0 / 60, Burst: 1},
		{Prefix: "/system/status", PerSecond: 2, Burst: 1},
		{Prefix: "/users", PerSecond: 40, Burst: 80},
		{Prefix: "/users/login", PerSecond: 1, Burst: 1},
		{Prefix: "/user", PerSecond: 2, Burst: 5},
		{Prefix: "/rbac", PerSecond: 50, Burst: 100},
		{Prefix: "/licenses", PerSecond: 10, Burst: 5},
		{Prefix: "/exclusions", PerSecond: 25, Burst: 25},
		{Prefix: "/export", PerSecond: 1, Burst: 30},
		{Prefix: "/remote-scripts", PerSecond: 1, Burst: 30},
		{Prefix: "/dv/init-query", PerSecond: 1.0 / 60, Burst: 1},
		{Prefix: "/dv/events/pq", PerSecond: 4, Burst: 1},
		{Prefix: "/dv/query-status", PerSecond: 1, Burst: 1},
	}
}

// NoRateLimits disables client-side rate limiting (for tests and simulators).
func NoRateLimits() []RateLimit { return []RateLimit{} }

type limiterEntry struct {
	prefix string
	lim    *rate.Limiter
}

// limiterSet holds one rate.Limiter per prefix for a Client; rate.Limiter is
// safe for concurrent use, so all goroutines sharing a Client share the buckets.
type limiterSet struct {
	entries []limiterEntry // sorted by prefix length, longest first
}

func newLimiterSet(limits []RateLimit) *limiterSet {
	if limits == nil {
		limits = DefaultRateLimits()
	}
	byPrefix := map[string]RateLimit{}
	for _, l := range limits {
		byPrefix[l.Prefix] = l // later entries override earlier ones
	}
	s := &limiterSet{}
	for p, l := range byPrefix {
		r := rate.Inf
		if l.PerSecond > 0 {
			r = rate.Limit(l.PerSecond)
		}
		b := l.Burst
		if b < 1 {
			b = 1
		}
		s.entries = append(s.entries, limiterEntry{prefix: p, lim: rate.NewLimiter(r, b)})
	}
	sort.Slice(s.entries, func(i, j int) bool {
		if len(s.entries[i].prefix) != len(s.entries[j].prefix) {
			return len(s.entries[i].prefix) > len(s.entries[j].prefix)
		}
		return s.entries[i].prefix < s.entries[j].prefix
	})
	return s
}

// forPath returns the limiter for path (longest prefix) or nil when unlimited.
func (s *limiterSet) forPath(path string) *rate.Limiter {
	for _, e := range s.entries {
		if strings.HasPrefix(path, e.prefix) {
			if e.lim.Limit() == rate.Inf {
				return nil
			}
			return e.lim
		}
	}
	return nil
}
