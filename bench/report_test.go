package main

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{0.7}, 0.7},
		{[]float64{0.94, 0.73, 0.95}, 0.94},
		{[]float64{0.9, 0.7, 0.8, 1.0}, 0.85},
	} {
		if got := median(c.in); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// agentsLike is a stream with S1's /agents limit (25/s, burst 1) whose walk without limits
// took 2 s for 100 requests, so the whole ceiling (99 requests ÷ 25/s) is reachable.
func agentsLike(walks ...pubWalk) *streamResult {
	return &streamResult{Stream: "agents", FetchRecords: 100000, FetchRequests: 100, FetchDur: 2 * time.Second,
		FetchPub: walks, Def: streamDef{limit: 25, burst: 1}}
}

func TestFetchPubTakesTheMedianWalk(t *testing.T) {
	r := agentsLike(
		pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100},
		pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100},
		pubWalk{Dur: 5430 * time.Millisecond, Reqs: 101, N429: 1},
	)
	p := r.fetchPub()
	if math.Abs(p.util-99/4.193/25) > 1e-6 || math.Abs(p.ofReach-p.util) > 1e-6 {
		t.Errorf("util %v, of reach %v; want both %v (the median walk, the ceiling reachable)", p.util, p.ofReach, 99/4.193/25)
	}
	if p.reqs != 301 || p.n429 != 1 || p.storm {
		t.Errorf("reqs %d, 429s %d, storm %v; want 301, 1, false", p.reqs, p.n429, p.storm)
	}
	if p.each != "94% (0 × 429), 94% (0 × 429), 73% (1 × 429)" {
		t.Errorf("each = %q", p.each)
	}
}

func TestFetchPubStormIsPerWalk(t *testing.T) {
	// Three 429s in all among 303 requests is 1 %, but all in one walk of 103 it is a storm.
	r := agentsLike(
		pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100},
		pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100},
		pubWalk{Dur: 8 * time.Second, Reqs: 103, N429: 3},
	)
	if !r.fetchPub().storm {
		t.Error("3 × 429 in one walk of 103 requests is not reported as a storm")
	}
}

func TestFetchPubLeavesWalksWithinTheBurstOut(t *testing.T) {
	r := agentsLike(pubWalk{Dur: time.Second, Reqs: 5}, pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100})
	r.Def.burst = 50
	p := r.fetchPub()
	if want := 50 / 4.193 / 25; math.Abs(p.util-want) > 1e-6 {
		t.Errorf("util %v, want %v (the walk of 5 requests within a burst of 50 left out)", p.util, want)
	}
	if !strings.HasPrefix(p.each, "within the burst") {
		t.Errorf("each = %q", p.each)
	}
	r.FetchPub = r.FetchPub[:1]
	if util := r.fetchPub().util; !math.IsNaN(util) {
		t.Errorf("util %v with every walk within the burst, want NaN", util)
	}
}

func TestTargetsMissAFailedWalk(t *testing.T) {
	r := agentsLike(pubWalk{Dur: 4193 * time.Millisecond, Reqs: 100},
		pubWalk{Dur: time.Second, Reqs: 20, Err: errors.New("connection refused")})
	b := &bench{cfg: config{repeat: 3}, results: []*streamResult{r}}
	out := b.targets()
	if !strings.Contains(out, "MISS agents client under S1's limit: walk 2 of 3 failed: connection refused") {
		t.Errorf("a failed walk is not a MISS naming it:\n%s", out)
	}
	if strings.Contains(out, "PASS agents client under S1's limit") {
		t.Errorf("a failed walk still passes:\n%s", out)
	}
}
