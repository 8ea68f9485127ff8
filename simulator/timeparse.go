package simulator

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the timestamp forms clients send in __gt/__gte/__lt/__lte
// filters (reference §1): RFC3339 with or without fraction, with Z or an
// offset; Python str(datetime) with a space; naive forms (taken as UTC).
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseTimestamp parses any accepted filter timestamp form.
func parseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	// An unencoded "+00:00" in a query string arrives as " 00:00".
	if i := strings.LastIndexByte(s, ' '); i > 10 && len(s)-i <= 6 {
		return parseTimestamp(s[:i] + "+" + s[i+1:])
	}
	return time.Time{}, fmt.Errorf("not a valid datetime: %q", s)
}

// timeRange is an inclusive range of unix microseconds.
type timeRange struct{ lo, hi int64 }

// fullRange matches every timestamp.
var fullRange = timeRange{lo: math.MinInt64, hi: math.MaxInt64}

func (r timeRange) isFull() bool           { return r == fullRange }
func (r timeRange) contains(us int64) bool { return us >= r.lo && us <= r.hi }

// floorMicros and ceilMicros round a time to microseconds.
func floorMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Before(time.UnixMicro(us)) {
		us--
	}
	return us
}

func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// narrow applies one operator (gt, gte, lt, lte, between) to the range.
func (r *timeRange) narrow(op, value string) error {
	if op == "between" {
		a, b, ok := strings.Cut(value, "-")
		from, err1 := strconv.ParseInt(a, 10, 64)
		to, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("must be <from_epoch_ms>-<to_epoch_ms>, got %q", value)
		}
		if from > to {
			from, to = to, from
		}
		r.lo = max(r.lo, from*1000)
		r.hi = min(r.hi, to*1000+999)
		return nil
	}
	t, err := parseTimestamp(value)
	if err != nil {
		return err
	}
	switch op {
	case "gt":
		r.lo = max(r.lo, floorMicros(t)+1)
	case "gte":
		r.lo = max(r.lo, ceilMicros(t))
	case "lt":
		r.hi = min(r.hi, ceilMicros(t)-1)
	case "lte":
		r.hi = min(r.hi, floorMicros(t))
	default:
		return fmt.Errorf("unknown operator %q", op)
	}
	return nil
}
