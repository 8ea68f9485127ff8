package simulator

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// The tenant hierarchy: accounts → sites → groups. Agents are assigned to
// groups round-robin by index, so scope membership is pure arithmetic.

type account struct {
	idx              int
	id               int64
	name             string
	created, updated int64
}

type site struct {
	idx, account     int
	id               int64
	name             string
	created, updated int64
}

type group struct {
	idx, site        int
	id               int64
	name             string
	created, updated int64
}

// scopeModel is the immutable tenant hierarchy.
type scopeModel struct {
	accounts []account
	sites    []site
	groups   []group
	creator  int64
}

var (
	accountNames = []string{"Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises", "Hooli", "Soylent"}
	siteNames    = []string{"Default site", "HQ", "EU Branch", "Datacenter", "Cloud", "APAC Office"}
	groupNames   = []string{"Default Group", "Servers", "Workstations", "Laptops", "Kubernetes", "Finance", "Engineering", "Legacy"}
)

// nameAt returns names[i], suffixed when the table is exhausted.
func nameAt(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("%s %d", names[i%len(names)], i/len(names)+1)
}

// scopeID returns an 18-digit ID for the n-th object of a kind.
func scopeID(seed uint64, kind string, base int64, n int) int64 {
	return base + int64(hashOf(seed, saltOf(kind), 0)%1_000_000_000_000) + int64(n)*1_000_003
}

func newScopeModel(seed uint64, nAcc, nSite, nGroup int, t0 int64) *scopeModel {
	m := &scopeModel{creator: scopeID(seed, "user", 433_200_000_000_000_000, 0)}
	for a := range nAcc {
		m.accounts = append(m.accounts, account{
			idx: a, id: scopeID(seed, "account", 433_241_000_000_000_000, a), name: nameAt(accountNames, a),
			created: t0 - 30*microsPerDay + int64(a)*microsPerHour + 402735,
			updated: t0 - 2*microsPerDay + int64(a)*microsPerHour + 482177,
		})
		for si := range nSite {
			sIdx := a*nSite + si
			m.sites = append(m.sites, site{
				idx: sIdx, account: a, id: scopeID(seed, "site", 475_482_000_000_000_000, sIdx), name: nameAt(siteNames, si),
				created: t0 - 29*microsPerDay + int64(sIdx)*microsPerHour + 257525,
				updated: t0 - microsPerDay + int64(sIdx)*microsPerHour + 131071,
			})
			for g := range nGroup {
				gIdx := sIdx*nGroup + g
				m.groups = append(m.groups, group{
					idx: gIdx, site: sIdx, id: scopeID(seed, "group", 475_482_421_000_000_000, gIdx), name: nameAt(groupNames, g),
					created: t0 - 28*microsPerDay + int64(gIdx)*microsPerHour + 928383,
					updated: t0 - 12*microsPerHour + int64(gIdx)*microsPerHour + 564266,
				})
			}
		}
	}
	return m
}

// groupsFor resolves accountIds/siteIds/groupIds filters to a membership
// mask over group indices; nil means "no scope filter".
func (m *scopeModel) groupsFor(q *listQuery) []bool {
	accIDs, siteIDs, groupIDs := q.ids["accountIds"], q.ids["siteIds"], q.ids["groupIds"]
	if accIDs == nil && siteIDs == nil && groupIDs == nil {
		return nil
	}
	mask := make([]bool, len(m.groups))
	for i, g := range m.groups {
		s := m.sites[g.site]
		a := m.accounts[s.account]
		mask[i] = (accIDs == nil || slices.Contains(accIDs, a.id)) &&
			(siteIDs == nil || slices.Contains(siteIDs, s.id)) &&
			(groupIDs == nil || slices.Contains(groupIDs, g.id))
	}
	return mask
}

func idKey(id int64) key { return key{v: id, id: id} }

var scopeSorts = []string{"id", "createdAt", "updatedAt"}

// accountsEndpoint serves GET /accounts.
var accountsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/accounts", maxLimit: 1000, sortable: scopeSorts, defaultSort: "id",
		filters:     map[string]paramKind{"ids": kindIDs, "accountIds": kindIDs},
		unsupported: []string{"query", "name", "name__contains", "isDefault", "accountType", "state", "states", "statesNin", "createdAt", "updatedAt", "features", "usageType", "billingMode", "expiration", "totalLicenses", "activeLicenses", "sku", "module"},
		knownSorts:  []string{"name", "totalLicenses", "expiration", "accountType", "state", "activeLicenses", "activeAgents", "numberOfSites", "usageType", "billingMode"},
	},
	list: func(s *Simulator) lister {
		counts := s.agents.groupCounts()
		m := s.scope
		return &memCollection[account]{
			items:  m.accounts,
			sortOf: map[string]func(account) key{"id": func(a account) key { return idKey(a.id) }, "createdAt": func(a account) key { return key{a.created, a.id} }, "updatedAt": func(a account) key { return key{a.updated, a.id} }},
			match: func(a account, q *listQuery) bool {
				return inIDs(q.ids["ids"], a.id) && inIDs(q.ids["accountIds"], a.id)
			},
			render: func(a account) []byte {
				agents, nSites := 0, 0
				for _, st := range m.sites {
					if st.account == a.idx {
						nSites++
						for _, g := range m.groups {
							if g.site == st.idx {
								agents += counts[g.idx]
							}
						}
					}
				}
				return mustJSON(map[string]any{
					"id": strconv.FormatInt(a.id, 10), "name": a.name, "accountType": "Paid", "state": "active",
					"usageType": "customer", "billingMode": "subscription", "isDefault": a.idx == 0,
					"createdAt": fmtMicros(a.created), "updatedAt": fmtMicros(a.updated),
					"expiration": nil, "unlimitedExpiration": true, "activeAgents": agents, "numberOfSites": nSites,
					"totalLicenses": 0, "creator": "Sim Admin", "creatorId": strconv.FormatInt(m.creator, 10),
					"externalId": nil, "salesforceId": nil,
					"licenses": map[string]any{
						"bundles": []any{map[string]any{"name": "complete", "displayName": "Complete", "majorVersion": 1, "minorVersion": 0,
							"totalSurfaces": -1, "surfaces": []any{map[string]any{"name": "Total Agents", "count": -1}}}},
						"modules":  []any{map[string]any{"name": "star", "displayName": "STAR", "majorVersion": 1}},
						"settings": []any{},
					},
					"skus": []any{map[string]any{"type": "Complete", "totalLicenses": 0, "unlimited": true, "agentsInSku": agents}},
				})
			},
		}
	},
}

// sitesEndpoint serves GET /sites, whose data is {"allSites":{...},"sites":[...]}.
var sitesEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/sites", maxLimit: 1000, sortable: scopeSorts, defaultSort: "id",
		filters:     map[string]paramKind{"siteIds": kindIDs, "accountIds": kindIDs},
		unsupported: []string{"accountId", "query", "name", "name__contains", "accountName__contains", "description", "description__contains", "isDefault", "healthStatus", "siteType", "expiration", "totalLicenses", "activeLicenses", "externalId", "createdAt", "updatedAt", "state", "states", "statesNin", "suite", "sku", "module", "features", "adminOnly", "availableMoveSites", "registrationToken"},
		knownSorts:  []string{"name", "totalLicenses", "expiration", "siteType", "state", "suite", "activeLicenses", "accountName", "sku", "description", "usageType"},
	},
	list: func(s *Simulator) lister {
		counts := s.agents.groupCounts()
		m := s.scope
		return &memCollection[site]{
			items:  m.sites,
			sortOf: map[string]func(site) key{"id": func(x site) key { return idKey(x.id) }, "createdAt": func(x site) key { return key{x.created, x.id} }, "updatedAt": func(x site) key { return key{x.updated, x.id} }},
			match: func(x site, q *listQuery) bool {
				return inIDs(q.ids["siteIds"], x.id) && inIDs(q.ids["accountIds"], m.accounts[x.account].id)
			},
			render: func(x site) []byte {
				agents := 0
				for _, g := range m.groups {
					if g.site == x.idx {
						agents += counts[g.idx]
					}
				}
				a := m.accounts[x.account]
				return mustJSON(map[string]any{
					"id": strconv.FormatInt(x.id, 10), "name": x.name, "accountId": strconv.FormatInt(a.id, 10), "accountName": a.name,
					"createdAt": fmtMicros(x.created), "updatedAt": fmtMicros(x.updated), "expiration": nil, "unlimitedExpiration": true,
					"state": "active", "siteType": "Paid", "usageType": "customer", "isDefault": x.name == siteNames[0],
					"healthStatus": true, "activeLicenses": agents, "totalLicenses": 0, "unlimitedLicenses": true,
					"suite": "Complete", "sku": "Complete", "creator": "Sim Admin", "creatorId": strconv.FormatInt(m.creator, 10),
					"externalId": nil, "description": nil, "inheritAccountExpiration": true,
					"registrationToken": fmt.Sprintf("c2ltLXJlZ2lzdHJhdGlvbi10b2tlbi0%d=", x.idx),
					"licenses":          map[string]any{"bundles": []any{}, "modules": []any{}, "settings": []any{}},
				})
			},
		}
	},
	wrap: func(s *Simulator, items [][]byte) []byte {
		total := s.agents.liveCount()
		b := fmt.Appendf(nil, `{"allSites":{"activeLicenses":%d,"totalLicenses":0},"sites":`, total)
		buf := bytes.NewBuffer(b)
		writeArray(buf, items)
		buf.WriteByte('}')
		return buf.Bytes()
	},
}

// groupsEndpoint serves GET /groups (limit 1–300).
var groupsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/groups", maxLimit: 300, sortable: scopeSorts, defaultSort: "id",
		filters:     map[string]paramKind{"groupIds": kindIDs, "siteIds": kindIDs, "accountIds": kindIDs, "updatedAt": kindTime},
		unsupported: []string{"id", "name", "query", "type", "types", "isDefault", "rank", "registrationToken", "description"},
		knownSorts:  []string{"name", "type", "rank"},
	},
	list: func(s *Simulator) lister {
		counts := s.agents.groupCounts()
		m := s.scope
		return &memCollection[group]{
			items:  m.groups,
			sortOf: map[string]func(group) key{"id": func(g group) key { return idKey(g.id) }, "createdAt": func(g group) key { return key{g.created, g.id} }, "updatedAt": func(g group) key { return key{g.updated, g.id} }},
			match: func(g group, q *listQuery) bool {
				mask := m.groupsFor(q)
				return (mask == nil || mask[g.idx]) && q.timeRange("updatedAt").contains(g.updated)
			},
			render: func(g group) []byte {
				return mustJSON(map[string]any{
					"createdAt": fmtMicros(g.created), "creator": "Sim Admin", "creatorId": strconv.FormatInt(m.creator, 10),
					"description": nil, "filterId": nil, "filterName": nil, "id": strconv.FormatInt(g.id, 10), "inherits": true,
					"isDefault": g.name == groupNames[0], "name": g.name, "rank": nil,
					"registrationToken": fmt.Sprintf("c2ltLWdyb3VwLXRva2VuLQ%d==", g.idx),
					"siteId":            strconv.FormatInt(m.sites[g.site].id, 10), "totalAgents": counts[g.idx], "type": "static",
					"updatedAt": fmtMicros(g.updated),
				})
			},
		}
	},
}

// inIDs reports whether id is in ids, or ids is nil (no filter).
func inIDs(ids []int64, id int64) bool { return ids == nil || slices.Contains(ids, id) }

// mustJSON marshals v (maps marshal with sorted keys, like the console).
func mustJSON(v any) []byte {
	b, err := fastjson.Marshal(v) // encoding/json's output (internal/fastjson), faster
	if err != nil {
		panic(err)
	}
	return b
}
