package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"
)

// evStore is the index/overlay machinery shared by the seed-derived event
// streams (threats, alerts). Item v is derived from seed+v; base items
// 0..base-1 have id, createdAt, updatedAt and reportedAt strictly
// increasing in v, spread over [now-span, now). Only changed/added items
// are stored (dirty, kept ordered by updatedAt in byUpdated), so walks are
// binary-searched ranges merged with the overlay, as in agentStore.
// Events are never deleted.
type evStore struct {
	seed   uint64
	salt   uint64
	base   int
	t0     int64 // createdAt slot of item 0, unix micros
	step   int64 // createdAt spacing of base items
	jmax   int64 // jitter bound (≤ step/2)
	idBase int64

	mu        sync.RWMutex
	next      int              // next virtual index
	addedAt   []int64          // createdAt of added items (index v-base)
	dirty     map[int]*evState // changed or added items
	byUpdated []int            // dirty indices sorted by (updatedAt, id)
	version   uint64           // bumped on every mutation
	picker    prng

	cacheMu sync.Mutex
	counts  map[string]int // totalItems cache keyed by version+filters
}

// evState is the overlay entry of a changed or added item. Status fields
// are table indices; -1 keeps the derived base value.
type evState struct {
	updated                                   int64
	gen                                       int // number of content changes
	incident, verdict, mitigation, confidence int8
	status, severity                          int8 // risk rows (vulnerabilities.go)
}

// newEvState returns an overlay entry that keeps every derived value.
func newEvState(updated int64) *evState {
	return &evState{updated: updated, incident: -1, verdict: -1, mitigation: -1, confidence: -1, status: -1, severity: -1}
}

func newEvStore(seed uint64, label string, n int, now, span int64, idBase int64) *evStore {
	step := max(span/int64(max(n, 1)), 2)
	return &evStore{
		seed: seed, salt: saltOf(label), base: n,
		t0: now - step*int64(n), step: step, jmax: max(min(step/2, microsPerHour), 1),
		idBase: idBase + int64(hashOf(seed, saltOf(label+"-id"), 0)%50_000_000_000_000_000),
		next:   n, dirty: map[int]*evState{},
		picker: prng{s: hashOf(seed, saltOf(label+"-picker"), 0)}, counts: map[string]int{},
	}
}

// idOf returns item v's ID (19 digits, strictly increasing in v).
func (st *evStore) idOf(v int) int64 {
	return st.idBase + int64(v)*idStride + int64(hashOf(st.seed, st.salt^0x1d, v)%(idStride/2))
}

// indexOf inverts idOf.
func (st *evStore) indexOf(id int64) (int, bool) {
	if id < st.idBase {
		return 0, false
	}
	v := int((id - st.idBase) / idStride)
	return v, v < st.next && st.idOf(v) == id
}

// createdOf is non-decreasing in v over every index ever allocated.
func (st *evStore) createdOf(v int) int64 {
	if v < st.base {
		return st.t0 + int64(v)*st.step + int64(hashOf(st.seed, st.salt^1, v)%uint64(st.jmax))
	}
	return st.addedAt[v-st.base]
}

// lagOf is a per-item delay below jmax, so createdOf(v)+lagOf(v) stays
// below createdOf(v+1): base updatedAt and reportedAt remain monotone.
func (st *evStore) lagOf(v int, salt uint64) int64 {
	if v >= st.base {
		return 0
	}
	return int64(hashOf(st.seed, st.salt^salt, v) % uint64(st.jmax))
}

func (st *evStore) baseUpdated(v int) int64      { return st.createdOf(v) + st.lagOf(v, 2) }
func (st *evStore) reportedOf(v int) int64       { return st.createdOf(v) + st.lagOf(v, 3) }
func (st *evStore) live(v int) bool              { return v >= 0 && v < st.next }
func (st *evStore) liveCount() int               { st.mu.RLock(); defer st.mu.RUnlock(); return st.next }
func (st *evStore) rng(v int, salt uint64) *prng { return newPRNG(st.seed, st.salt^salt, v) }

func (st *evStore) updatedOf(v int) int64 {
	if s, ok := st.dirty[v]; ok {
		return s.updated
	}
	return st.baseUpdated(v)
}

// keyOf returns item v's keyset key for a normalized sort field
// (id, createdAt, updatedAt, reportedAt).
func (st *evStore) keyOf(v int, sortBy string) key {
	id := st.idOf(v)
	switch sortBy {
	case "createdAt":
		return key{st.createdOf(v), id}
	case "updatedAt":
		return key{st.updatedOf(v), id}
	case "reportedAt":
		return key{st.reportedOf(v), id}
	}
	return key{id, id}
}

// evWalk is a compiled walk: ranges on the monotone fields, an optional ID
// set, and a predicate for everything else.
type evWalk struct {
	created, updated, reported timeRange
	ids                        []int64
	hasIDs                     bool
	ok                         func(v int) bool // nil accepts all
}

func (w *evWalk) accepts(st *evStore, v int) bool {
	return w.created.contains(st.createdOf(v)) && w.updated.contains(st.updatedOf(v)) &&
		w.reported.contains(st.reportedOf(v)) && (w.ok == nil || w.ok(v))
}

// each calls fn for items matching w in (sortBy, desc) order strictly after
// the cursor, until fn returns false. Callers hold st.mu. O(log n + visited).
func (st *evStore) each(w *evWalk, sortBy string, desc bool, after *key, fn func(v int) bool) {
	ok := func(v int) bool { return st.live(v) && w.accepts(st, v) }
	if w.hasIDs {
		var vs []int
		for _, id := range w.ids {
			if v, found := st.indexOf(id); found && ok(v) && !slices.Contains(vs, v) {
				vs = append(vs, v)
			}
		}
		slices.SortFunc(vs, func(x, y int) int {
			c := st.keyOf(x, sortBy).cmp(st.keyOf(y, sortBy))
			if desc {
				return -c
			}
			return c
		})
		for _, v := range vs {
			if after != nil {
				c := st.keyOf(v, sortBy).cmp(*after)
				if (!desc && c <= 0) || (desc && c >= 0) {
					continue
				}
			}
			if !fn(v) {
				return
			}
		}
		return
	}
	if sortBy != "updatedAt" {
		// id, createdAt and reportedAt are all monotone in v.
		lo, hi := searchRange(st.next, st.createdOf, w.created)
		lo2, hi2 := searchRange(st.next, st.reportedOf, w.reported)
		lo, hi = max(lo, lo2), max(max(lo, lo2), min(hi, hi2))
		keyAt := func(v int) key { return st.keyOf(v, sortBy) }
		if !w.updated.isFull() {
			st.eachUpdatedByPos(w, lo, hi, keyAt, desc, after, ok, fn)
			return
		}
		lo, hi = afterRange(lo, hi, keyAt, after, desc)
		it := newPosIter(lo, hi, desc, identity, ok)
		for v, more := it.peek(); more && fn(v); v, more = it.peek() {
			it.advance()
		}
		return
	}
	// updatedAt: merge unchanged base items (monotone in v) with the overlay.
	baseKey := func(v int) key { return key{st.baseUpdated(v), st.idOf(v)} }
	aLo, aHi := searchRange(st.base, st.baseUpdated, w.updated)
	aLo, aHi = afterRange(aLo, aHi, baseKey, after, desc)
	a := newPosIter(aLo, aHi, desc, identity, func(v int) bool {
		_, changed := st.dirty[v]
		return !changed && ok(v)
	})
	ovKey := func(i int) key { v := st.byUpdated[i]; return key{st.dirty[v].updated, st.idOf(v)} }
	bLo, bHi := searchRange(len(st.byUpdated), func(i int) int64 { return st.dirty[st.byUpdated[i]].updated }, w.updated)
	bLo, bHi = afterRange(bLo, bHi, ovKey, after, desc)
	b := newPosIter(bLo, bHi, desc, func(i int) int { return st.byUpdated[i] }, ok)
	for {
		va, okA := a.peek()
		vb, okB := b.peek()
		if !okA && !okB {
			return
		}
		useA := okA
		if okA && okB {
			c := baseKey(va).cmp(st.keyOf(vb, "updatedAt"))
			useA = (c < 0) != desc
		}
		v := vb
		if useA {
			v = va
			a.advance()
		} else {
			b.advance()
		}
		if !fn(v) {
			return
		}
	}
}

// eachUpdatedByPos walks a bounded updatedAt range in position (id)
// order without scanning the whole tenant: unchanged base items form a
// binary-searched range (base updatedAt is monotone in v) and changed or
// added items come from the overlay, sorted by position and merged in.
// This keeps a delta walk (updatedAt__gte + sortBy=id) O(log n + page).
func (st *evStore) eachUpdatedByPos(w *evWalk, lo, hi int, keyAt func(int) key, desc bool, after *key, ok, fn func(int) bool) {
	uLo, uHi := searchRange(st.base, st.baseUpdated, w.updated)
	aLo, aHi := max(lo, uLo), max(max(lo, uLo), min(hi, uHi))
	aLo, aHi = afterRange(aLo, aHi, keyAt, after, desc)
	a := newPosIter(aLo, aHi, desc, identity, func(v int) bool {
		_, changed := st.dirty[v]
		return !changed && ok(v)
	})
	bLo, bHi := searchRange(len(st.byUpdated), func(i int) int64 { return st.dirty[st.byUpdated[i]].updated }, w.updated)
	ov := make([]int, 0, bHi-bLo)
	for _, v := range st.byUpdated[bLo:bHi] {
		if v < lo || v >= hi || !ok(v) {
			continue
		}
		if after != nil {
			if c := keyAt(v).cmp(*after); (!desc && c <= 0) || (desc && c >= 0) {
				continue
			}
		}
		ov = append(ov, v)
	}
	slices.Sort(ov)
	if desc {
		slices.Reverse(ov)
	}
	for {
		va, okA := a.peek()
		if len(ov) == 0 && !okA {
			return
		}
		v := 0
		if okA && (len(ov) == 0 || (va < ov[0]) != desc) {
			v = va
			a.advance()
		} else {
			v, ov = ov[0], ov[1:]
		}
		if !fn(v) {
			return
		}
	}
}

// count returns how many items match w, cached per (version, canonical).
func (st *evStore) count(w *evWalk, canonical string) int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	if canonical == "" {
		return st.next
	}
	cacheKey := strconv.FormatUint(st.version, 10) + "|" + canonical
	st.cacheMu.Lock()
	n, hit := st.counts[cacheKey]
	st.cacheMu.Unlock()
	if hit {
		return n
	}
	order := "id"
	if !w.updated.isFull() {
		order = "updatedAt" // bounded by the filter
	}
	st.each(w, order, false, nil, func(int) bool { n++; return true })
	st.cacheMu.Lock()
	if len(st.counts) > 4096 {
		clear(st.counts)
	}
	st.counts[cacheKey] = n
	st.cacheMu.Unlock()
	return n
}

// page collects up to limit items after the cursor and renders them.
// render is called with st.mu held for reading.
func (st *evStore) page(w *evWalk, sortBy string, desc bool, after *key, limit int, render func(v int) []byte) ([][]byte, key, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var vs []int
	more := false
	st.each(w, sortBy, desc, after, func(v int) bool {
		if len(vs) == limit {
			more = true
			return false
		}
		vs = append(vs, v)
		return true
	})
	items := make([][]byte, len(vs))
	var last key
	for i, v := range vs {
		items[i] = render(v)
		last = st.keyOf(v, sortBy)
	}
	return items, last, more
}

// --- mutations (callers hold st.mu for writing) ---

func (st *evStore) mutated() {
	st.version++
	st.cacheMu.Lock()
	clear(st.counts)
	st.cacheMu.Unlock()
}

func (st *evStore) updatedPos(v int) int {
	k := key{st.updatedOf(v), st.idOf(v)}
	i, _ := slices.BinarySearchFunc(st.byUpdated, k, func(x int, k key) int {
		return key{st.dirty[x].updated, st.idOf(x)}.cmp(k)
	})
	return i
}

// pick chooses up to n distinct items deterministically, preferring those
// for which prefer returns true (nil: any).
func (st *evStore) pick(n int, prefer func(v int) bool) []int {
	n = min(n, st.next)
	chosen := make(map[int]struct{}, n)
	out := make([]int, 0, n)
	take := func(v int, pass bool) {
		if _, dup := chosen[v]; !dup && (pass || prefer == nil || prefer(v)) {
			chosen[v] = struct{}{}
			out = append(out, v)
		}
	}
	for attempts := 0; len(out) < n && attempts < 64*n+1024; attempts++ {
		take(int(st.picker.next()%uint64(st.next)), false)
	}
	for v := 0; len(out) < n && v < st.next; v++ { // dense fallback, preferred first
		take(v, false)
	}
	for v := 0; len(out) < n && v < st.next; v++ {
		take(v, true)
	}
	return out
}

// touch applies fn to item v's overlay entry and moves it to updatedAt now.
func (st *evStore) touch(v int, now int64, fn func(*evState)) {
	s, ok := st.dirty[v]
	if ok {
		i := st.updatedPos(v)
		st.byUpdated = slices.Delete(st.byUpdated, i, i+1)
	} else {
		s = newEvState(0)
		st.dirty[v] = s
	}
	fn(s)
	s.gen++
	s.updated = max(now, s.updated)
	st.byUpdated = slices.Insert(st.byUpdated, st.updatedPos(v), v)
}

// add appends a new item created (and updated) at now.
func (st *evStore) add(now int64, init func(*evState)) int {
	created := now
	if st.next > 0 {
		created = max(now, st.createdOf(st.next-1)) // keep createdAt non-decreasing in v
	}
	v := st.next
	st.next++
	st.addedAt = append(st.addedAt, created)
	s := newEvState(created)
	if init != nil {
		init(s)
	}
	st.dirty[v] = s
	st.byUpdated = slices.Insert(st.byUpdated, st.updatedPos(v), v)
	return v
}

// truth renders every item and hashes its exact JSON bytes.
func (st *evStore) truth(render func(v int) []byte) map[string]string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]string, st.next)
	for v := range st.next {
		sum := sha256.Sum256(render(v))
		out[strconv.FormatInt(st.idOf(v), 10)] = hex.EncodeToString(sum[:])
	}
	return out
}

// jsonOf renders one item by ID.
func (st *evStore) jsonOf(id string, render func(v int) []byte) ([]byte, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, false
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	v, ok := st.indexOf(n)
	if !ok {
		return nil, false
	}
	return render(v), true
}

// wpick draws an index with the given weights.
func wpick(r *prng, weights []int) int {
	t := 0
	for _, w := range weights {
		t += w
	}
	n := r.intn(t)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return 0
}
