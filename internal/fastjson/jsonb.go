package fastjson

import (
	"bytes"
	"slices"
	"sync"
	"unicode/utf8"
)

// PostgreSQL's jsonb keeps every object's members sorted by key: shorter keys first, keys of
// one length by their bytes (lengthCompareJsonbString). It sorts them as it parses each jsonb
// input (qsort_arg, 9 % of PostgreSQL's CPU in a `perf` profile of the 100k-alert full sync,
// on the console's key order and the event's struct order); input already in that order costs
// it one comparison a member. MarshalJSONB (encode.go) writes the detection findings in that
// order as it encodes them; AppendJSONBOrder reorders a document that is already encoded (the values a
// json.Marshaler returns, the fallback's output).

// AppendJSONBOrder appends the JSON document src to dst compacted (no white space between
// tokens) and with every object's members in jsonb's order. Strings, numbers and literals are
// copied byte for byte, and members with the same key keep their relative order (the last is
// the one jsonb and encoding/json keep), so the output is the same JSON value as src.
//
// It reports false, with dst as it was, when src is not a JSON document made of well-formed
// objects and arrays (each member a string key, a colon and a value; commas between members
// and elements; nothing after the document but white space) or nests deeper than
// maxJSONBDepth. Scalars are not validated: an invalid one is copied as it is, so the output
// is valid JSON exactly when src is. An object with an escaped key or one that is not valid
// UTF-8 keeps its members' order (its values are still reordered within): "\u0061" and "a"
// are one key, as are two invalid bytes decoded as U+FFFD, which the bytes as written cannot
// order, and moving them would change which one is kept.
func AppendJSONBOrder(dst, src []byte) ([]byte, bool) {
	r := reorders.Get().(*jsonbReorder)
	defer func() {
		if cap(r.scratch) <= 1<<20 && cap(r.members) <= 1<<14 { // a huge document's buffers are not kept
			reorders.Put(r)
		}
	}()
	r.src = src
	out, i, ok := r.value(dst, SkipSpace(src, 0), 0)
	r.src = nil
	if !ok || SkipSpace(src, i) != len(src) {
		return dst, false
	}
	return out, true
}

// maxJSONBDepth bounds the recursion; deeper documents are refused.
const maxJSONBDepth = 1000

var reorders = sync.Pool{New: func() any { return new(jsonbReorder) }}

// jsonbReorder is the state of one AppendJSONBOrder call, pooled for its buffers: one stack
// of member spans shared by every object being reordered (an object's members sit above its
// parent's until it is written) and the scratch copy an object's members are put back from.
type jsonbReorder struct {
	src     []byte
	members []jsonbMember
	scratch []byte
}

// jsonbMember is one object member: its key's bytes between the quotes, src[keyStart:keyEnd],
// and where the member (key, colon and value) was written in dst.
type jsonbMember struct {
	keyStart, keyEnd int
	outStart, outEnd int
}

// compare orders keys as jsonb does (lengthCompareJsonbString): by length, then bytewise.
func (r *jsonbReorder) compare(a, b jsonbMember) int {
	if la, lb := a.keyEnd-a.keyStart, b.keyEnd-b.keyStart; la != lb {
		return la - lb
	}
	return bytes.Compare(r.src[a.keyStart:a.keyEnd], r.src[b.keyStart:b.keyEnd])
}

// value appends the value starting at src[i] (not white space) and returns the index past it.
func (r *jsonbReorder) value(dst []byte, i, depth int) ([]byte, int, bool) {
	src := r.src
	if i >= len(src) {
		return dst, i, false
	}
	switch src[i] {
	case '{', '[':
		if depth >= maxJSONBDepth {
			return dst, i, false
		}
		if src[i] == '{' {
			return r.object(dst, i, depth+1)
		}
		return r.array(dst, i, depth+1)
	case '}', ']', ',', ':':
		return dst, i, false
	case '"':
		j := SkipString(src, i)
		if j-i < 2 || src[j-1] != '"' {
			return dst, i, false
		}
		return append(dst, src[i:j]...), j, true
	}
	j := SkipValue(src, i)
	return append(dst, src[i:j]...), j, true
}

// object appends the object starting at src[i] == '{': its members written as they come and
// then, unless they came sorted, moved into jsonb's order.
func (r *jsonbReorder) object(dst []byte, i, depth int) ([]byte, int, bool) {
	src := r.src
	base := len(r.members)
	defer func() { r.members = r.members[:base] }()
	dst = append(dst, '{')
	open := len(dst)
	i = SkipSpace(src, i+1)
	if i < len(src) && src[i] == '}' {
		return append(dst, '}'), i + 1, true
	}
	sorted, escaped := true, false
	for {
		if i >= len(src) || src[i] != '"' {
			return dst, i, false
		}
		ke := SkipString(src, i)
		if ke-i < 2 || src[ke-1] != '"' {
			return dst, i, false
		}
		m := jsonbMember{keyStart: i + 1, keyEnd: ke - 1, outStart: len(dst)}
		if k := src[m.keyStart:m.keyEnd]; bytes.IndexByte(k, '\\') >= 0 || !utf8.Valid(k) {
			escaped = true
		}
		if n := len(r.members); n > base && r.compare(m, r.members[n-1]) < 0 {
			sorted = false
		}
		i = SkipSpace(src, ke)
		if i >= len(src) || src[i] != ':' {
			return dst, i, false
		}
		dst = append(dst, src[m.keyStart-1:ke]...)
		dst = append(dst, ':')
		var ok bool
		if dst, i, ok = r.value(dst, SkipSpace(src, i+1), depth); !ok {
			return dst, i, false
		}
		m.outEnd = len(dst)
		r.members = append(r.members, m)
		i = SkipSpace(src, i)
		if i >= len(src) {
			return dst, i, false
		}
		if src[i] == '}' {
			break
		}
		if src[i] != ',' {
			return dst, i, false
		}
		dst = append(dst, ',')
		i = SkipSpace(src, i+1)
	}
	if !sorted && !escaped {
		r.sortMembers(dst, open, base)
	}
	return append(dst, '}'), i + 1, true
}

// sortMembers puts the members above base of the stack, written in dst from open on, into
// jsonb's order (a stable sort: members with one key keep their order), then copies them back
// from a scratch copy of their bytes.
func (r *jsonbReorder) sortMembers(dst []byte, open, base int) {
	ms := r.members[base:]
	slices.SortStableFunc(ms, r.compare)
	r.scratch = append(r.scratch[:0], dst[open:]...)
	w := open
	for k, m := range ms {
		if k > 0 {
			dst[w] = ','
			w++
		}
		w += copy(dst[w:], r.scratch[m.outStart-open:m.outEnd-open])
	}
}

// array appends the array starting at src[i] == '[', its elements reordered within.
func (r *jsonbReorder) array(dst []byte, i, depth int) ([]byte, int, bool) {
	src := r.src
	dst = append(dst, '[')
	i = SkipSpace(src, i+1)
	if i < len(src) && src[i] == ']' {
		return append(dst, ']'), i + 1, true
	}
	for {
		var ok bool
		if dst, i, ok = r.value(dst, i, depth); !ok {
			return dst, i, false
		}
		i = SkipSpace(src, i)
		if i >= len(src) {
			return dst, i, false
		}
		if src[i] == ']' {
			return append(dst, ']'), i + 1, true
		}
		if src[i] != ',' {
			return dst, i, false
		}
		dst = append(dst, ',')
		i = SkipSpace(src, i+1)
	}
}
