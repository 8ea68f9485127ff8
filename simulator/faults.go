package simulator

import (
	"encoding/json"
	"time"
)

// Faults are injected into requests. The zero value injects nothing.
// Random decisions come from a PRNG seeded by Options.Seed.
type Faults struct {
	// ErrorRatio of requests are answered 500 with the live 5000010 body.
	ErrorRatio float64
	// Status503 answers 503 (5030010) instead of 500.
	Status503 bool
	// RateLimitRatio of requests are answered 429 regardless of buckets.
	RateLimitRatio float64
	// Latency is added to every request.
	Latency time.Duration
	// DropRatio of requests get their connection closed after half the body
	// (Content-Length announces the full body).
	DropRatio float64
	// TruncateRatio of 200 responses carry truncated JSON (with a matching
	// Content-Length, so only the JSON is broken).
	TruncateRatio float64
	// WrongTypeIDs are records (by top-level "id") served in list responses with the top-level
	// field WrongTypeField (default "updatedAt") set to the JSON WrongTypeValue (default
	// "yesterday"): valid JSON of the wrong type, every time they are served.
	WrongTypeIDs   map[string]bool
	WrongTypeField string
	WrongTypeValue string
}

// mangle applies WrongTypeIDs to a page's items (a copy where one changes).
func (f Faults) mangle(items [][]byte) [][]byte {
	if len(f.WrongTypeIDs) == 0 {
		return items
	}
	field, value := f.WrongTypeField, f.WrongTypeValue
	if field == "" {
		field = "updatedAt"
	}
	if value == "" {
		value = `"yesterday"`
	}
	out := items
	for i, it := range items {
		var m map[string]json.RawMessage
		if json.Unmarshal(it, &m) != nil {
			continue
		}
		var id string
		if json.Unmarshal(m["id"], &id) != nil || !f.WrongTypeIDs[id] {
			continue
		}
		m[field] = json.RawMessage(value)
		b, err := json.Marshal(m)
		if err != nil {
			continue
		}
		if &out[0] == &items[0] {
			out = append([][]byte(nil), items...)
		}
		out[i] = b
	}
	return out
}

// SetFaults replaces the fault configuration.
func (s *Simulator) SetFaults(f Faults) {
	s.faultMu.Lock()
	s.faults = f
	s.faultMu.Unlock()
}

// faultDraw is the per-request fault decision.
type faultDraw struct {
	latency                                time.Duration
	err, status503, rateLimit, drop, trunc bool
}

// drawFaults decides a request's faults. Four numbers are always drawn so
// the sequence does not depend on which ratios are set.
func (s *Simulator) drawFaults() faultDraw {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.faults
	e, r, d, t := s.rng.Float64(), s.rng.Float64(), s.rng.Float64(), s.rng.Float64()
	return faultDraw{
		latency: f.Latency, status503: f.Status503,
		err: e < f.ErrorRatio, rateLimit: r < f.RateLimitRatio, drop: d < f.DropRatio, trunc: t < f.TruncateRatio,
	}
}
