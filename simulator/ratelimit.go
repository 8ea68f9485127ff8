package simulator

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limitRule is one row of the published per-path table (reference §4.2):
// requests per second per API token, with burst.
type limitRule struct {
	prefix string
	rate   rate.Limit
	burst  int
}

// limitTable holds the published limits; prefixes are relative to
// APIPrefix. The longest matching prefix wins. "/threats" is the list
// endpoint only; "/threats/" covers its sub-paths.
var limitTable = []limitRule{
	{"/accounts", 100, 10},
	{"/sites", 100, 10},
	{"/agents", 25, 1},
	{"/threats", 10, 50},
	{"/threats/", 100, 1000},
	{"/activities", 10, 30},
	{"/application-management/inventory", 3, 1},
	{"/application-management/scan", rate.Every(8 * time.Hour), 1},
	{"/assets", rate.Inf, 1},
	{"/xdr", 25, 1},
	{"/cloud-detection/rules", rate.Every(2 * time.Second), 1},
	{"/detection-library/rules", rate.Every(2 * time.Second), 1},
	{"/system/status", 2, 1},
	{"/users", 40, 80},
	{"/users/login", 1, 1},
	{"/user", 2, 5},
	{"/rbac", 50, 100},
	{"/licenses", 10, 5},
	{"/exclusions", 25, 25},
	{"/export", 1, 30},
	{"/remote-scripts", 1, 30},
	{"/dv/init-query", rate.Every(time.Minute), 1},
	{"/dv/events/pq", 4, 1},
	{"/dv/query-status", 1, 1},
}

// ruleFor returns the rule for a path relative to APIPrefix, or nil.
func ruleFor(path string) *limitRule {
	var best *limitRule
	for i := range limitTable {
		r := &limitTable[i]
		var hit bool
		if strings.HasSuffix(r.prefix, "/") {
			hit = strings.HasPrefix(path, r.prefix) && len(path) > len(r.prefix)
		} else {
			hit = path == r.prefix || strings.HasPrefix(path, r.prefix+"/")
		}
		if r.prefix == "/threats" && path != "/threats" {
			hit = false
		}
		if hit && (best == nil || len(r.prefix) > len(best.prefix)) {
			best = r
		}
	}
	return best
}

// rateLimiter keeps one token bucket per (token fingerprint, prefix).
type rateLimiter struct {
	mu         sync.Mutex
	enforce    bool
	retryAfter bool
	buckets    map[string]*rate.Limiter
}

func newRateLimiter(enforce, retryAfter bool) *rateLimiter {
	return &rateLimiter{enforce: enforce, retryAfter: retryAfter, buckets: map[string]*rate.Limiter{}}
}

// allow consumes one token for (who, path) at time now.
func (l *rateLimiter) allow(who, path string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.enforce {
		return true
	}
	r := ruleFor(path)
	if r == nil || r.rate == rate.Inf {
		return true
	}
	k := who + "|" + r.prefix
	b, ok := l.buckets[k]
	if !ok {
		b = rate.NewLimiter(r.rate, r.burst)
		b.AllowN(now, 0) // start the bucket full at the simulator's clock
		l.buckets[k] = b
	}
	return b.AllowN(now, 1)
}

func (l *rateLimiter) sendRetryAfter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retryAfter
}

// SetRateLimits switches bucket enforcement and the Retry-After header at
// runtime. Turning enforcement on starts with full buckets.
func (s *Simulator) SetRateLimits(enforce, retryAfter bool) {
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if enforce && !l.enforce {
		clear(l.buckets)
	}
	l.enforce, l.retryAfter = enforce, retryAfter
}
