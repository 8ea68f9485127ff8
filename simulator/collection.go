package simulator

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
)

// lister is one paged stream. Implementations keep their data however
// suits them (agents are derived on the fly; small streams live in memory)
// and only need to answer counts and keyset pages.
type lister interface {
	// count returns how many items match q's filters.
	count(q *listQuery) int
	// page returns up to limit rendered items strictly after q.after in q's
	// order, the key of the last returned item and whether more items follow.
	page(q *listQuery, limit int) (items [][]byte, last key, more bool)
}

// listEndpoint couples a spec with its lister and an optional data wrapper
// (e.g. /sites returns data as an object).
type listEndpoint struct {
	spec *listSpec
	list func(s *Simulator) lister
	// wrap renders the "data" value from the page items; nil means a JSON array.
	wrap func(s *Simulator, items [][]byte) []byte
	// totalCount writes /xdr/assets-style pagination
	// {"limit","nextCursor","skip","totalCount"} instead of totalItems.
	totalCount bool
}

// serveList answers a validated list request with the console's envelope:
// {"data":[...],"pagination":{"nextCursor":<string|null>,"totalItems":N}}.
func (s *Simulator) serveList(r *http.Request, ep *listEndpoint) response {
	q, errResp := s.parseList(r.URL.Query(), ep.spec)
	if errResp != nil {
		return *errResp
	}
	l := ep.list(s)
	total := 0
	if !q.skipCount {
		total = l.count(q)
	}
	var items [][]byte
	var next string
	if !q.countOnly {
		page, last, more := l.page(q, q.skip+q.limit)
		if q.skip < len(page) {
			items = page[q.skip:]
		}
		s.faultMu.Lock()
		f := s.faults
		s.faultMu.Unlock()
		items = f.mangle(items)
		if more && len(items) > 0 {
			next = s.encodeCursor(cursorData{
				Path: ep.spec.path, Sort: q.sortBy, Desc: q.desc,
				V: last.v, ID: last.id, Filters: q.canonical, Hash: filterHash(q.canonical),
			})
		}
	}
	size := 256 + len(next)
	for _, it := range items {
		size += len(it) + 1
	}
	b := bytes.NewBuffer(make([]byte, 0, size)) // one allocation for the body (wrap aside)
	b.WriteString(`{"data":`)
	if ep.wrap != nil {
		b.Write(ep.wrap(s, items))
	} else {
		writeArray(b, items)
	}
	b.WriteString(`,"pagination":{`)
	if ep.totalCount {
		b.WriteString(`"limit":` + strconv.Itoa(q.limit) + `,`)
	}
	b.WriteString(`"nextCursor":`)
	if next == "" {
		b.WriteString("null")
	} else {
		b.WriteString(strconv.Quote(next))
	}
	if ep.totalCount {
		b.WriteString(`,"skip":` + strconv.Itoa(q.skip) + `,"totalCount":`)
	} else {
		b.WriteString(`,"totalItems":`)
	}
	b.WriteString(strconv.Itoa(total))
	b.WriteString("}}\n")
	return response{status: http.StatusOK, body: b.Bytes()}
}

// writeArray writes pre-rendered JSON items as an array.
func writeArray(b *bytes.Buffer, items [][]byte) {
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
}

// memCollection is a lister over a small in-memory snapshot. New streams
// (threats, alerts, …) can use it directly: supply the items, how to key
// them for each sortBy, a filter and a renderer.
type memCollection[T any] struct {
	items  []T
	sortOf map[string]func(T) key // sortBy → key
	match  func(T, *listQuery) bool
	render func(T) []byte
}

func (c *memCollection[T]) sorted(q *listQuery) []T {
	keyOf := c.sortOf[q.sortBy]
	out := make([]T, 0, len(c.items))
	for _, it := range c.items {
		if c.match == nil || c.match(it, q) {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b T) int {
		if q.desc {
			return keyOf(b).cmp(keyOf(a))
		}
		return keyOf(a).cmp(keyOf(b))
	})
	return out
}

func (c *memCollection[T]) count(q *listQuery) int { return len(c.sorted(q)) }

func (c *memCollection[T]) page(q *listQuery, limit int) ([][]byte, key, bool) {
	keyOf := c.sortOf[q.sortBy]
	all := c.sorted(q)
	start := 0
	if q.after != nil {
		start, _ = slices.BinarySearchFunc(all, *q.after, func(it T, k key) int {
			d := keyOf(it).cmp(k)
			if q.desc {
				d = -d
			}
			if d == 0 {
				return -1 // strictly after the cursor
			}
			return d
		})
	}
	end := min(len(all), start+limit)
	items := make([][]byte, 0, end-start)
	var last key
	for _, it := range all[start:end] {
		items = append(items, c.render(it))
		last = keyOf(it)
	}
	return items, last, end < len(all)
}
