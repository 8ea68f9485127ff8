package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// agentStore holds the agents stream without materializing it. Agent v
// (a "virtual index") is derived from seed+v; base agents 0..base-1 have
// createdAt, updatedAt and id strictly increasing in v. Only a sparse
// overlay is kept: changed/added agents (dirty, with their new timestamps)
// and removed indices. Added agents take indices base, base+1, … so ids and
// createdAt stay monotone in v.
type agentStore struct {
	seed        uint64
	scope       *scopeModel
	base        int
	t0          int64 // createdAt of agent 0, unix micros
	step        int64 // createdAt spacing of base agents
	jmax        int64 // jitter bound (< step)
	idBase      int64
	decomHidden bool // omit decommissioned agents unless isDecommissioned is given

	mu        sync.RWMutex
	next      int                 // next virtual index
	addedAt   []int64             // createdAt of added agents (index v-base), kept after removal
	removed   map[int]struct{}    // removed virtual indices
	dirty     map[int]*agentState // changed or added agents
	byUpdated []int               // dirty indices sorted by (updatedAt, id)
	version   uint64              // bumped on every mutation
	picker    prng                // chooses agents to mutate

	cacheMu sync.Mutex
	counts  map[string]int // totalItems cache keyed by version+filters
}

// agentState is the overlay entry of a changed or added agent.
type agentState struct {
	updated    int64 // unix micros
	lastActive int64
	gen        int // number of ChangeAgents applied
}

const (
	idStride    = 4096
	updateShift = 60 * microsPerDay // base updatedAt = createdAt slot + 60 days
)

func newAgentStore(seed uint64, scope *scopeModel, n int, t0 int64, decomHidden bool) *agentStore {
	step := 300 * microsPerDay / int64(max(n, 1))
	step = max(step, 1)
	return &agentStore{
		seed: seed, scope: scope, base: n, t0: t0, step: step, jmax: min(step, microsPerHour),
		idBase:      1_100_000_000_000_000_000 + int64(hashOf(seed, saltOf("agent-id"), 0)%100_000_000_000_000_000),
		decomHidden: decomHidden,
		next:        n, removed: map[int]struct{}{}, dirty: map[int]*agentState{},
		picker: prng{s: hashOf(seed, saltOf("picker"), 0)}, counts: map[string]int{},
	}
}

// idOf returns agent v's ID (19 digits, strictly increasing in v).
func (st *agentStore) idOf(v int) int64 {
	return st.idBase + int64(v)*idStride + int64(hashOf(st.seed, saltOf("jitter"), v)%(idStride/2))
}

// indexOf inverts idOf.
func (st *agentStore) indexOf(id int64) (int, bool) {
	if id < st.idBase {
		return 0, false
	}
	v := int((id - st.idBase) / idStride)
	return v, v < st.next && st.idOf(v) == id
}

func (st *agentStore) baseCreated(v int) int64 {
	return st.t0 + int64(v)*st.step + int64(hashOf(st.seed, 1, v)%uint64(st.jmax))
}

func (st *agentStore) baseUpdated(v int) int64 {
	return st.t0 + updateShift + int64(v)*st.step + int64(hashOf(st.seed, 2, v)%uint64(st.jmax))
}

// createdOf is non-decreasing in v over all indices ever allocated.
func (st *agentStore) createdOf(v int) int64 {
	if v < st.base {
		return st.baseCreated(v)
	}
	return st.addedAt[v-st.base]
}

// baseUpdatedOf is agent v's updatedAt ignoring changes (added: createdAt).
func (st *agentStore) baseUpdatedOf(v int) int64 {
	if v < st.base {
		return st.baseUpdated(v)
	}
	return st.addedAt[v-st.base]
}

func (st *agentStore) updatedOf(v int) int64 {
	if s, ok := st.dirty[v]; ok {
		return s.updated
	}
	return st.baseUpdatedOf(v)
}

func (st *agentStore) decommissioned(v int) bool {
	return hashOf(st.seed, saltDecom, v)%100 < 4
}

func (st *agentStore) live(v int) bool {
	if v < 0 || v >= st.next {
		return false
	}
	_, gone := st.removed[v]
	return !gone
}

// keyOf returns agent v's keyset key for a sort field.
func (st *agentStore) keyOf(v int, sortBy string) key {
	id := st.idOf(v)
	switch sortBy {
	case "createdAt":
		return key{st.createdOf(v), id}
	case "updatedAt":
		return key{st.updatedOf(v), id}
	}
	return key{id, id}
}

func (st *agentStore) liveCount() int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.next - len(st.removed)
}

// groupCounts returns live agents per group index in O(groups + overlay).
func (st *agentStore) groupCounts() []int {
	st.mu.RLock()
	defer st.mu.RUnlock()
	g := len(st.scope.groups)
	counts := make([]int, g)
	for i := range counts {
		counts[i] = st.base / g
		if i < st.base%g {
			counts[i]++
		}
	}
	for v := st.base; v < st.next; v++ {
		counts[v%g]++
	}
	for v := range st.removed {
		counts[v%g]--
	}
	return counts
}

// --- mutations ---

func (st *agentStore) mutated() {
	st.version++
	st.cacheMu.Lock()
	clear(st.counts)
	st.cacheMu.Unlock()
}

func (st *agentStore) updatedPos(v int) int {
	k := key{st.updatedOf(v), st.idOf(v)}
	i, _ := slices.BinarySearchFunc(st.byUpdated, k, func(x int, k key) int {
		return key{st.dirty[x].updated, st.idOf(x)}.cmp(k)
	})
	return i
}

// pickLive chooses up to n distinct live agents deterministically.
func (st *agentStore) pickLive(n int) []int {
	live := st.next - len(st.removed)
	n = min(n, live)
	chosen := make(map[int]struct{}, n)
	out := make([]int, 0, n)
	for attempts := 0; len(out) < n && attempts < 64*n+1024; attempts++ {
		v := int(st.picker.next() % uint64(st.next))
		if _, dup := chosen[v]; !dup && st.live(v) {
			chosen[v] = struct{}{}
			out = append(out, v)
		}
	}
	for v := 0; len(out) < n && v < st.next; v++ { // dense fallback
		if _, dup := chosen[v]; !dup && st.live(v) {
			chosen[v] = struct{}{}
			out = append(out, v)
		}
	}
	return out
}

func (st *agentStore) change(n int, now int64) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	picked := st.pickLive(n)
	ids := make([]string, 0, len(picked))
	for _, v := range picked {
		s, ok := st.dirty[v]
		if ok {
			st.byUpdated = slices.Delete(st.byUpdated, st.updatedPos(v), st.updatedPos(v)+1)
		} else {
			s = &agentState{}
			st.dirty[v] = s
		}
		s.gen++
		s.updated, s.lastActive = now, now
		st.byUpdated = slices.Insert(st.byUpdated, st.updatedPos(v), v)
		ids = append(ids, strconv.FormatInt(st.idOf(v), 10))
	}
	st.mutated()
	return ids
}

func (st *agentStore) add(n int, now int64) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		created := now
		if st.next > 0 {
			created = max(now, st.createdOf(st.next-1)) // keep createdAt non-decreasing in v
		}
		v := st.next
		st.next++
		st.addedAt = append(st.addedAt, created)
		st.dirty[v] = &agentState{updated: created, lastActive: created}
		st.byUpdated = slices.Insert(st.byUpdated, st.updatedPos(v), v)
		ids = append(ids, strconv.FormatInt(st.idOf(v), 10))
	}
	st.mutated()
	return ids
}

func (st *agentStore) remove(n int) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	picked := st.pickLive(n)
	ids := make([]string, 0, len(picked))
	for _, v := range picked {
		if _, ok := st.dirty[v]; ok {
			i := st.updatedPos(v)
			st.byUpdated = slices.Delete(st.byUpdated, i, i+1)
			delete(st.dirty, v)
		}
		st.removed[v] = struct{}{}
		ids = append(ids, strconv.FormatInt(st.idOf(v), 10))
	}
	st.mutated()
	return ids
}

// truth renders every live agent and hashes its exact JSON bytes.
func (st *agentStore) truth() map[string]string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]string, st.next-len(st.removed))
	for v := 0; v < st.next; v++ {
		if st.live(v) {
			sum := sha256.Sum256(st.render(v, st.dirty[v]))
			out[strconv.FormatInt(st.idOf(v), 10)] = hex.EncodeToString(sum[:])
		}
	}
	return out
}

// searchRange returns [lo, hi) within [0, n) where val (monotone in the
// position) lies in r.
func searchRange(n int, val func(int) int64, r timeRange) (int, int) {
	if r.isFull() {
		return 0, n
	}
	lo := sort.Search(n, func(i int) bool { return val(i) >= r.lo })
	hi := sort.Search(n, func(i int) bool { return val(i) > r.hi })
	return lo, max(lo, hi)
}

// afterRange narrows [lo, hi) to positions strictly after the cursor in the
// walk direction; keyAt must be monotone in the position.
func afterRange(lo, hi int, keyAt func(int) key, after *key, desc bool) (int, int) {
	if after == nil {
		return lo, hi
	}
	if desc {
		hi = lo + sort.Search(hi-lo, func(i int) bool { return keyAt(lo+i).cmp(*after) >= 0 })
	} else {
		lo = lo + sort.Search(hi-lo, func(i int) bool { return keyAt(lo+i).cmp(*after) > 0 })
	}
	return lo, max(lo, hi)
}
