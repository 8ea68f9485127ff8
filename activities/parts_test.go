package activities

import (
	"fmt"
	"testing"

	"github.com/sentinelone-connector/s1conn/store"
)

// A page is cut into at most n parts of at least partMinRecords, covering every record once
// and in order; smaller pages (and SQLite's one commit at a time) stay whole.
func TestSplitRecords(t *testing.T) {
	recs := func(n int) []store.Record {
		out := make([]store.Record, n)
		for i := range out {
			out[i].Key = fmt.Sprint(i)
		}
		return out
	}
	for _, tc := range []struct{ records, slots, parts int }{
		{1000, 2, 2}, {1000, 4, 4}, {1000, 8, 4}, {1001, 3, 3}, {499, 2, 1}, {500, 2, 2}, {1000, 1, 1}, {0, 2, 1},
	} {
		in := recs(tc.records)
		got := splitRecords(in, tc.slots)
		if len(got) != tc.parts {
			t.Errorf("%d records, %d slots: %d parts, want %d", tc.records, tc.slots, len(got), tc.parts)
			continue
		}
		next := 0
		for _, p := range got {
			if tc.parts > 1 && len(p) < partMinRecords {
				t.Errorf("%d records, %d slots: a part of %d", tc.records, tc.slots, len(p))
			}
			for _, r := range p {
				if r.Key != fmt.Sprint(next) {
					t.Fatalf("%d records, %d slots: record %s where %d was due", tc.records, tc.slots, r.Key, next)
				}
				next++
			}
		}
		if next != tc.records {
			t.Errorf("%d records, %d slots: parts hold %d", tc.records, tc.slots, next)
		}
	}
}

func TestAddCountsKeepsTheLastWatermark(t *testing.T) {
	a := store.PageCounts{Inserted: 1, Updated: 2, Unchanged: 3, Removed: 4, Routed: 5, Quarantined: 6}
	b := store.PageCounts{Inserted: 10, Updated: 20, Unchanged: 30, Removed: 40, Routed: 50, Quarantined: 60}
	b.Watermark = b.Watermark.AddDate(2026, 0, 0)
	got := addCounts(a, b)
	want := store.PageCounts{Inserted: 11, Updated: 22, Unchanged: 33, Removed: 44, Routed: 55, Quarantined: 66, Watermark: b.Watermark}
	if got != want {
		t.Fatalf("addCounts = %+v, want %+v", got, want)
	}
}

// The alerts delta walks the refresh window only when that takes fewer requests than the
// refresh by ID would.
func TestWindowWalkCheaper(t *testing.T) {
	for _, tc := range []struct {
		inWindow, unresolved int64
		want                 bool
	}{
		{10300, 7238, true}, // the bench: 11 pages against 29 ID batches
		{10300, 2500, false}, {10300, 2751, true}, {1000, 250, false}, {1000, 251, true}, {0, 0, false}, {50, 0, false},
	} {
		if got := windowWalkCheaper(tc.inWindow, tc.unresolved); got != tc.want {
			t.Errorf("windowWalkCheaper(%d, %d) = %v, want %v", tc.inWindow, tc.unresolved, got, tc.want)
		}
	}
}
