package simulator

import (
	"slices"
	"strconv"
)

// agentsEndpoint serves GET /agents.
var agentsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/agents", maxLimit: 1000, sortable: []string{"id", "updatedAt", "createdAt"}, defaultSort: "id",
		filters: map[string]paramKind{
			"ids": kindIDs, "siteIds": kindIDs, "accountIds": kindIDs, "groupIds": kindIDs,
			"updatedAt": kindTime, "createdAt": kindTime, "isDecommissioned": kindBools,
		},
		unsupported: []string{
			"filteredSiteIds", "filteredGroupIds", "idsNin", "uuid", "uuids", "computerName", "computerName__like",
			"computerName__contains", "query", "registeredAt__gt", "registeredAt__gte", "registeredAt__lt", "registeredAt__lte",
			"lastActiveDate__gt", "lastActiveDate__gte", "lastActiveDate__lt", "lastActiveDate__lte", "isActive", "isUninstalled",
			"isPendingUninstall", "isUpToDate", "infected", "osTypes", "osTypesNin", "machineTypes", "machineTypesNin",
			"networkStatuses", "networkStatusesNin", "agentVersions", "agentVersionsNin", "scanStatuses", "domains",
			"externalIp__contains", "uuid__contains", "tagsData", "hasTags", "osArch", "osArches", "mitigationMode",
			"userActionsNeeded", "activeThreats", "activeThreats__gt", "serialNumber__contains",
		},
		knownSorts: []string{"computerName", "groupId", "osType", "osName", "uuid", "scanStatus", "isDecommissioned",
			"registeredAt", "lastActiveDate", "isActive", "agentVersion", "osArch", "machineType", "networkStatus",
			"domain", "totalMemory", "cpuCount", "coreCount", "externalIp", "groupName", "siteId", "siteName", "accountName",
			"serialNumber", "cpuId"},
	},
	list: func(s *Simulator) lister { return agentLister{s.agents} },
}

// agentFilter is a compiled /agents query.
type agentFilter struct {
	groups           []bool // scope mask by group index; nil = all
	allowDecom       bool
	allowActive      bool
	created, updated timeRange
	ids              []int64
	hasIDs           bool
}

func (st *agentStore) compile(q *listQuery) *agentFilter {
	f := &agentFilter{
		groups:  st.scope.groupsFor(q),
		created: q.timeRange("createdAt"), updated: q.timeRange("updatedAt"),
	}
	var given bool
	f.allowActive, f.allowDecom, given = q.boolSet("isDecommissioned")
	if !given && st.decomHidden {
		f.allowDecom = false
	}
	f.ids, f.hasIDs = q.ids["ids"]
	return f
}

// matchAll reports whether the filter accepts every live agent.
func (f *agentFilter) matchAll() bool {
	return f.groups == nil && f.allowDecom && f.allowActive && f.created.isFull() && f.updated.isFull() && !f.hasIDs
}

// match checks a live agent against everything except ids. Callers hold st.mu.
func (st *agentStore) match(f *agentFilter, v int) bool {
	if f.groups != nil && !f.groups[v%len(f.groups)] {
		return false
	}
	if d := st.decommissioned(v); (d && !f.allowDecom) || (!d && !f.allowActive) {
		return false
	}
	return f.created.contains(st.createdOf(v)) && f.updated.contains(st.updatedOf(v))
}

// posIter walks positions in one direction, yielding those whose index passes ok.
type posIter struct {
	pos, end, step int
	at             func(int) int
	ok             func(int) bool
}

func newPosIter(lo, hi int, desc bool, at func(int) int, ok func(int) bool) *posIter {
	if desc {
		return &posIter{pos: hi - 1, end: lo - 1, step: -1, at: at, ok: ok}
	}
	return &posIter{pos: lo, end: hi, step: 1, at: at, ok: ok}
}

func (it *posIter) peek() (int, bool) {
	for ; it.pos != it.end; it.pos += it.step {
		if v := it.at(it.pos); it.ok(v) {
			return v, true
		}
	}
	return 0, false
}

func (it *posIter) advance() { it.pos += it.step }

func identity(i int) int { return i }

// each calls fn for live agents matching f in (sortBy, desc) order strictly
// after the cursor, until fn returns false. Callers hold st.mu. Cost is
// O(log n + visited): walks never sort or materialize the tenant.
func (st *agentStore) each(f *agentFilter, sortBy string, desc bool, after *key, fn func(v int) bool) {
	ok := func(v int) bool { return st.live(v) && st.match(f, v) }
	if f.hasIDs {
		st.eachID(f, sortBy, desc, after, ok, fn)
		return
	}
	if sortBy != "updatedAt" {
		// id and createdAt are both monotone in v; bound by createdAt.
		lo, hi := searchRange(st.next, st.createdOf, f.created)
		lo, hi = afterRange(lo, hi, func(v int) key { return st.keyOf(v, sortBy) }, after, desc)
		it := newPosIter(lo, hi, desc, identity, ok)
		for v, more := it.peek(); more && fn(v); v, more = it.peek() {
			it.advance()
		}
		return
	}
	// updatedAt: merge unchanged base agents (monotone in v) with the overlay.
	baseKey := func(v int) key { return key{st.baseUpdated(v), st.idOf(v)} }
	aLo, aHi := searchRange(st.base, st.baseUpdated, f.updated)
	aLo, aHi = afterRange(aLo, aHi, baseKey, after, desc)
	a := newPosIter(aLo, aHi, desc, identity, func(v int) bool {
		_, changed := st.dirty[v]
		return !changed && ok(v)
	})
	ovKey := func(i int) key { v := st.byUpdated[i]; return key{st.dirty[v].updated, st.idOf(v)} }
	bLo, bHi := searchRange(len(st.byUpdated), func(i int) int64 { return st.dirty[st.byUpdated[i]].updated }, f.updated)
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

// eachID handles the ids filter: resolve candidates directly, then order them.
func (st *agentStore) eachID(f *agentFilter, sortBy string, desc bool, after *key, ok func(int) bool, fn func(int) bool) {
	var vs []int
	for _, id := range f.ids {
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
}

// agentLister adapts agentStore to the generic list endpoint.
type agentLister struct{ st *agentStore }

func (l agentLister) count(q *listQuery) int {
	st := l.st
	f := st.compile(q)
	st.mu.RLock()
	defer st.mu.RUnlock()
	if f.matchAll() {
		return st.next - len(st.removed)
	}
	cacheKey := strconv.FormatUint(st.version, 10) + "|" + q.canonical
	st.cacheMu.Lock()
	n, hit := st.counts[cacheKey]
	st.cacheMu.Unlock()
	if hit {
		return n
	}
	order := "id"
	if !f.updated.isFull() {
		order = "updatedAt" // the updatedAt walk is bounded by the filter
	}
	st.each(f, order, false, nil, func(int) bool { n++; return true })
	st.cacheMu.Lock()
	if len(st.counts) > 4096 {
		clear(st.counts)
	}
	st.counts[cacheKey] = n
	st.cacheMu.Unlock()
	return n
}

func (l agentLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	st := l.st
	f := st.compile(q)
	st.mu.RLock()
	defer st.mu.RUnlock()
	var vs []int
	more := false
	st.each(f, q.sortBy, q.desc, q.after, func(v int) bool {
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
		items[i] = st.render(v, st.dirty[v])
		last = st.keyOf(v, q.sortBy)
	}
	return items, last, more
}
