package sentinelone

import (
	"bytes"
	"encoding/json"
	"strings"

	segjson "github.com/segmentio/encoding/json"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// Zero-copy decoding of a list response. A page of 1,000 threats is ~6.5 MB of JSON, and
// decoding it into []json.RawMessage copied it three times over (the envelope's data field,
// the fast decoder's own copy of its input, then every item), all garbage a moment later: a
// heap profile of a threats backfill showed 27.6 MB live in RawMessage copies and the
// allocations drove most GC cycles. Here the body is checked once with json.Valid, then its
// top-level members and data items are sliced out of it in place; the items share the body.
//
// Only valid JSON reaches the scanner below, so it needs to track strings and nesting only.
// Anything else goes through fastjson (encoding/json's errors), as before.
//
// The check is segmentio/encoding's Valid, not encoding/json's: a CPU profile of a 200k-threat
// backfill put encoding/json.Valid on the pages at 13 % of the worker's CPU, and on a page of
// 1,000 threats (6.5 MB) segmentio's runs at 1,607 MB/s against 385 MB/s. It must never accept
// what encoding/json rejects (FuzzValidJSON); were it to reject what encoding/json accepts, the
// page would only take the slower fastjson path.

// splitEnvelope finds the data, pagination and errors members of a valid JSON object, as
// encoding/json would fill envelope: keys match case-insensitively and a repeated key's last
// value wins. ok is false when b is not a valid JSON object.
func splitEnvelope(b []byte) (env envelope, ok bool) {
	if !validJSON(b) {
		return env, false
	}
	i := fastjson.SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return env, false
	}
	i = fastjson.SkipSpace(b, i+1)
	if b[i] == '}' {
		return env, true
	}
	for {
		kEnd := fastjson.SkipString(b, i)
		key := b[i+1 : kEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var s string
			if json.Unmarshal(b[i:kEnd], &s) != nil {
				return env, false
			}
			key = []byte(s)
		}
		i = fastjson.SkipSpace(b, kEnd)
		i = fastjson.SkipSpace(b, i+1) // past ':'
		vEnd := fastjson.SkipValue(b, i)
		v := json.RawMessage(b[i:vEnd:vEnd])
		switch {
		case foldEq(key, "data"):
			env.Data = v
		case foldEq(key, "pagination"):
			env.Pagination = v
		case foldEq(key, "errors"):
			env.Errors = v
		}
		i = fastjson.SkipSpace(b, vEnd)
		if b[i] == '}' {
			return env, true
		}
		i = fastjson.SkipSpace(b, i+1) // past ','
	}
}

// validJSON reports whether b is one valid JSON value (see the top of this file).
//
// segmentio's parser recurses once per nesting level with no limit, and Go cannot recover
// from a stack overflow: a body of a few MB of "[" would kill the worker. encoding/json
// rejects documents nested deeper than 10,000, so those are refused before segmentio sees
// them; below that its recursion stays within a few MB of stack.
func validJSON(b []byte) bool {
	if nestedDeeper(b, maxNesting) {
		return false
	}
	return segjson.Valid(b)
}

// maxNesting is encoding/json's nesting limit (it rejects deeper documents).
const maxNesting = 10000

// nestedDeeper reports whether more than limit arrays and objects are open at once outside
// strings. On valid JSON it is exact; on anything else it counts at least as deep as a
// parser gets before it finds the error.
func nestedDeeper(b []byte, limit int) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = fastjson.SkipString(b, i) - 1
		case '[', '{':
			depth++
			if depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// foldEq is encoding/json's field-name match: Unicode case folding ("DATA", "ſ" for "s").
func foldEq(key []byte, name string) bool {
	return strings.EqualFold(string(key), name)
}

// splitArray returns the items of a valid JSON array as subslices of it (capacity clipped, so
// an append cannot overwrite the next item).
func splitArray(d []byte) []json.RawMessage {
	out := []json.RawMessage{}
	i := fastjson.SkipSpace(d, 1)
	if i >= len(d) || d[i] == ']' {
		return out
	}
	for {
		end := fastjson.SkipValue(d, i)
		out = append(out, d[i:end:end])
		i = fastjson.SkipSpace(d, end)
		if i >= len(d) || d[i] == ']' {
			return out
		}
		i = fastjson.SkipSpace(d, i+1) // past ','
	}
}
