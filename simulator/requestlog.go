package simulator

import (
	"strings"
	"sync"
	"time"
)

// Request is one logged request.
type Request struct {
	Method, Path, RawQuery string
	// Status is the status line sent (a dropped response logs its 200).
	Status int
	// Token is a fingerprint of the token (never the raw value); empty if none.
	Token string
	At    time.Time
}

// requestLog is a bounded, concurrency-safe request log.
type requestLog struct {
	mu      sync.Mutex
	max     int
	entries []Request
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= l.max {
		n := copy(l.entries, l.entries[len(l.entries)-l.max+1:])
		l.entries = l.entries[:n]
	}
	l.entries = append(l.entries, r)
}

// Requests returns a copy of the request log, oldest first.
func (s *Simulator) Requests() []Request {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]Request(nil), s.log.entries...)
}

// ResetRequests clears the request log.
func (s *Simulator) ResetRequests() {
	s.log.mu.Lock()
	s.log.entries = nil
	s.log.mu.Unlock()
}

// CountRequests counts logged requests with the method (empty: any) whose
// path starts with pathPrefix. Both "/web/api/v2.1/agents" and "/agents"
// forms are accepted.
func (s *Simulator) CountRequests(method, pathPrefix string) int {
	if !strings.HasPrefix(pathPrefix, APIPrefix) {
		pathPrefix = APIPrefix + pathPrefix
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for _, r := range s.log.entries {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}
