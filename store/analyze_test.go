package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A table is analyzed each time the rows inserted since its last analysis reach its size:
// log2(N) analyses however the inserts are split into pages and walks.
func TestTableGrowthAnalyzesGeometrically(t *testing.T) {
	var g tableGrowth
	var at []int64
	var total int64
	for range 1000 { // 1,000 pages of 250 rows (e.g. 30 backfill windows' pages interleaved)
		total += 250
		if g.add("threats", 250, 0) {
			at = append(at, total)
		}
	}
	assert.Equal(t, []int64{1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000}, at)

	// A table that already holds a million rows is left alone for its first million inserts.
	assert.False(t, g.add("agents", 999_999, 1_000_000))
	assert.False(t, g.add("agents", 0, 5), "the size is read once")
	assert.True(t, g.add("agents", 1, 5))
}

// A failed analysis gives its rows back: the next page asks again.
func TestTableGrowthRetriesFailedAnalysis(t *testing.T) {
	var g tableGrowth
	assert.True(t, g.add("alerts", 1000, 0))
	g.failed("alerts")
	assert.True(t, g.add("alerts", 1, 0), "1,001 rows pending again")
	assert.False(t, g.add("alerts", 1000, 0))
	assert.True(t, g.add("alerts", 1, 0), "doubled from 1,001")
}
