package sentinelone

import (
	"sort"
	"strings"
	"sync"
	"time"

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
// table does not list (e.g. /groups, /system/info), matching the 10 QPS other
// connectors use; all at Headroom (below), so 23.75/s for /agents and 9.5/s for the
// default.
//
// The two bulk list paths the table does not list, /cloud-detection/alerts and
// /application-management/risks, start at 25/s, the rate S1 publishes for its other
// bulk lists (/agents, /xdr). At 10/s the client itself was the bound: the bench's
// 1M-row vulnerabilities sync fetched a page every 100 ms exactly (9,855 rec/s)
// while PostgreSQL took 20,445 rows/s. Should a console hold these paths to less,
// its 429s make the client back off (Limiters: a fifth slower on each 429, then
// recover slowly), so an unknown limit costs a few 429s, not a storm.
//
// Every rate is held at Headroom (95 %) of the table's: the client paces requests at
// exactly the rate, and a server bucket at the same rate refuses a request that arrives
// a few ms earlier than the one before it did (burst 1 leaves no slack). At 100 % the
// bench's walks under the simulator's strict buckets drew a 429 per walk, and each costs
// its Retry-After (a second) and a back-off.
func DefaultRateLimits() []RateLimit {
	t := publishedRateLimits()
	for i := range t {
		t[i].PerSecond *= Headroom
	}
	return t
}

// Headroom is the share of S1's published rates the default client uses.
const Headroom = 0.95

// publishedRateLimits is the table as S1 publishes it (§4.2), plus our defaults for the
// paths it does not list.
func publishedRateLimits() []RateLimit {
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
		{Prefix: "/application-management/risks", PerSecond: 25, Burst: 1}, // unlisted: as /agents, /xdr
		{Prefix: "/cloud-detection/alerts", PerSecond: 25, Burst: 1},       // unlisted: as /agents, /xdr
		{Prefix: "/assets", PerSecond: 0, Burst: 0},                        // "10 000 req/s per Console": unlimited
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
	max    rate.Limit // the configured rate; a 429 lowers lim below it for a while

	mu      sync.Mutex
	ceiling rate.Limit // highest rate since the last 429 (max until one)
	okSince int        // successes since the last 429 or the last full recovery
	cut     time.Time  // when the last 429 cut the rate
}

// Limiters holds one rate.Limiter per path prefix; rate.Limiter is safe for concurrent
// use, so every Client built with the same Limiters (Options.Limiters: the worker gives
// every walk and check that uses a token the same set) shares the buckets, as S1 counts
// requests per token, not per client.
//
// A 429 means the console's limit for that path is lower than ours, that the token's
// budget is shared with other tools, or only that two requests arrived closer together than
// they were sent (with S1's burst of 1, a few ms of jitter is enough). The path's rate drops
// by a fifth (never below a 16th of the configured rate) and 95 % of the rate that failed
// becomes a ceiling. Every recoverAfter successes add a 20th of the configured rate, up to
// the ceiling; the ceiling itself goes back to the configured rate after recoverAfter × 20
// successes without a 429. A jitter 429 costs a few percent of the rate for a while. By the
// arithmetic (not measured: the simulator enforces S1's table), a console holding a path to
// 10/s when the client sends 23.75 refuses four requests (23.75 → 19 → 15.2 → 12.2 → 9.7),
// then about one per 200 once the cap lifts (the bench's storm threshold is 1 %).
//
// Halving instead (the first version) was too much: a single jitter 429 on a 100-page
// agents walk left the rest of the walk at 12.5/s, 59 % of the API ceiling.
type Limiters struct {
	entries []*limiterEntry // sorted by prefix length, longest first
}

// recoverAfter is how many successful requests raise a backed-off rate by one step.
const recoverAfter = 10

// NewLimiters builds the buckets of limits (nil = DefaultRateLimits(), NoRateLimits() =
// none).
func NewLimiters(limits []RateLimit) *Limiters {
	if limits == nil {
		limits = DefaultRateLimits()
	}
	byPrefix := map[string]RateLimit{}
	for _, l := range limits {
		byPrefix[l.Prefix] = l // later entries override earlier ones
	}
	s := &Limiters{}
	for p, l := range byPrefix {
		r := rate.Inf
		if l.PerSecond > 0 {
			r = rate.Limit(l.PerSecond)
		}
		b := l.Burst
		if b < 1 {
			b = 1
		}
		s.entries = append(s.entries, &limiterEntry{prefix: p, lim: rate.NewLimiter(r, b), max: r, ceiling: r})
	}
	sort.Slice(s.entries, func(i, j int) bool {
		if len(s.entries[i].prefix) != len(s.entries[j].prefix) {
			return len(s.entries[i].prefix) > len(s.entries[j].prefix)
		}
		return s.entries[i].prefix < s.entries[j].prefix
	})
	return s
}

func (s *Limiters) entry(path string) *limiterEntry {
	for _, e := range s.entries {
		if strings.HasPrefix(path, e.prefix) {
			if e.max == rate.Inf {
				return nil
			}
			return e
		}
	}
	return nil
}

// forPath returns the limiter for path (longest prefix) or nil when unlimited.
func (s *Limiters) forPath(path string) *rate.Limiter {
	if e := s.entry(path); e != nil {
		return e.lim
	}
	return nil
}

// observe adjusts path's rate to the response of a request sent at sent: a 429 backs off, a
// success recovers. Responses to requests sent before the last cut say nothing about the
// rate since: several requests in flight refused by one overload cut the rate once.
func (s *Limiters) observe(path string, status int, sent time.Time) {
	e := s.entry(path)
	if e == nil || (status != 429 && (status < 200 || status > 299)) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if sent.Before(e.cut) {
		return
	}
	cur := e.lim.Limit()
	if status == 429 {
		e.cut = time.Now()
		e.ceiling = max(e.max/16, cur*0.95)
		e.lim.SetLimit(max(e.max/16, cur*0.8))
		e.okSince = 0
		return
	}
	if cur == e.max {
		return
	}
	e.okSince++
	if e.okSince%recoverAfter != 0 {
		return
	}
	if e.okSince >= 20*recoverAfter {
		e.ceiling = e.max
	}
	e.lim.SetLimit(min(e.ceiling, cur+e.max/20))
	if e.lim.Limit() == e.max {
		e.okSince = 0
	}
}

// rate is path's current rate (requests per second; 0 = unlimited).
func (s *Limiters) rate(path string) float64 {
	if e := s.entry(path); e != nil {
		return float64(e.lim.Limit())
	}
	return 0
}
