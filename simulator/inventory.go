package simulator

import (
	"strconv"
	"strings"
)

// inventoryEndpoint serves GET /application-management/inventory: one item
// per application installed on at least one endpoint in scope, ordered by
// name (Elastic's `application` stream, reference §6.8).
var inventoryEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/application-management/inventory", maxLimit: 1000, sortable: []string{"applicationName"}, defaultSort: "applicationName",
		filters: map[string]paramKind{"accountIds": kindIDs, "siteIds": kindIDs, "groupIds": kindIDs},
		single:  []string{"accountIds", "siteIds", "groupIds"},
		unsupported: []string{"applicationName", "applicationName__contains", "applicationNames", "vendors",
			"applicationVendor__contains", "osTypes", "riskLevels"},
	},
	list: func(s *Simulator) lister { return inventoryLister{s.vuln} },
}

// inventoryEndpointsEndpoint serves GET /application-management/inventory/endpoints
// ?applicationName=…&applicationVendor=… (both required): one row per
// endpoint with the application installed, ordered by row id (which
// increases with the endpoint's agent id).
var inventoryEndpointsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/application-management/inventory/endpoints", maxLimit: 1000, sortable: []string{"id"}, defaultSort: "id",
		filters: map[string]paramKind{
			"applicationName": kindString, "applicationVendor": kindString,
			"accountIds": kindIDs, "siteIds": kindIDs, "groupIds": kindIDs,
		},
		single:      []string{"accountIds", "siteIds", "groupIds"},
		required:    []string{"applicationName", "applicationVendor"},
		unsupported: []string{"applicationVersions", "osTypes", "endpointName__contains", "endpointTypes"},
	},
	list: func(s *Simulator) lister { return appEndpointsLister{s.vuln} },
}

type inventoryJSON struct {
	ApplicationName          string `json:"applicationName"`
	ApplicationVendor        string `json:"applicationVendor"`
	ApplicationVersionsCount int    `json:"applicationVersionsCount"`
	EndpointsCount           int    `json:"endpointsCount"`
	Estimate                 bool   `json:"estimate"`
}

// appCounts returns application a's endpoints and installed versions within
// the group mask (nil: all).
func (m *vulnModel) appCounts(a int, groups []bool) (endpoints, versions int) {
	ap := &m.apps[a]
	if groups == nil {
		return ap.endpoints, ap.versionsN
	}
	nv := len(ap.versions)
	for j := range nv {
		n := 0
		for g := range m.groups {
			if groups[g] {
				n += int(ap.counts[g*nv+j])
			}
		}
		endpoints += n
		if n > 0 {
			versions++
		}
	}
	return endpoints, versions
}

type inventoryLister struct{ m *vulnModel }

func (l inventoryLister) matching(q *listQuery) []int {
	groups := l.m.agents.scope.groupsFor(q)
	var out []int
	for a := range l.m.apps {
		if n, _ := l.m.appCounts(a, groups); n > 0 {
			out = append(out, a)
		}
	}
	return out
}

func (l inventoryLister) count(q *listQuery) int { return len(l.matching(q)) }

func (l inventoryLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	groups := l.m.agents.scope.groupsFor(q)
	all := l.matching(q)
	if q.desc {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	start := 0
	for q.after != nil && start < len(all) && ((!q.desc && int64(all[start]) <= q.after.v) || (q.desc && int64(all[start]) >= q.after.v)) {
		start++
	}
	end := min(len(all), start+limit)
	items := make([][]byte, 0, end-start)
	var last key
	for _, a := range all[start:end] {
		ap := &l.m.apps[a]
		n, nv := l.m.appCounts(a, groups)
		items = append(items, mustJSON(&inventoryJSON{ApplicationName: ap.name, ApplicationVendor: ap.vendor,
			ApplicationVersionsCount: nv, EndpointsCount: n}))
		last = key{int64(a), int64(a)}
	}
	return items, last, end < len(all)
}

// --- per-application endpoints ---

const instIDBase = 1_800_000_000_000_000_000

// instID is the row id of application a on base agent v: unique, and
// increasing in v for a fixed application.
func (m *vulnModel) instID(v, a int) int64 {
	return instIDBase + int64(hashOf(m.seed, saltOf("inst-id"), 0)%1_000_000_000_000) + int64(v)*maxApps + int64(a)
}

type appEndpointJSON struct {
	AccountName                 string  `json:"accountName"`
	ApplicationInstallationDate string  `json:"applicationInstallationDate"`
	ApplicationInstallationPath *string `json:"applicationInstallationPath"`
	ApplicationName             string  `json:"applicationName"`
	CoreCount                   int     `json:"coreCount"`
	Cpe                         string  `json:"cpe"`
	CPUCount                    int     `json:"cpuCount"`
	DetectionDate               string  `json:"detectionDate"`
	EndpointID                  string  `json:"endpointId"`
	EndpointName                string  `json:"endpointName"`
	EndpointType                string  `json:"endpointType"`
	EndpointUUID                string  `json:"endpointUuid"`
	FileSize                    int     `json:"fileSize"`
	GroupName                   string  `json:"groupName"`
	ID                          string  `json:"id"`
	OsArch                      string  `json:"osArch"`
	OsName                      string  `json:"osName"`
	OsType                      string  `json:"osType"`
	OsVersion                   string  `json:"osVersion"`
	SiteName                    string  `json:"siteName"`
	Version                     string  `json:"version"`
}

// renderInstall returns the /inventory/endpoints row of application a
// (version j) on base agent v.
func (m *vulnModel) renderInstall(v, a, j int, id *agentIdent) []byte {
	ap := &m.apps[a]
	r := newPRNG(m.seed, ap.salt^saltOf("inst"), v)
	created := m.agents.createdOf(v)
	installed := created + int64(r.intn(int(60*microsPerDay)))
	var path *string
	switch {
	case r.chance(25):
	case id.ag.OsType == "macos":
		path = strp("/Applications/" + ap.name + ".app")
	case id.ag.OsType == "linux":
		path = strp("/usr/bin/" + strings.ToLower(strings.ReplaceAll(ap.name, " ", "-")))
	default:
		path = strp(`C:\Program Files\` + ap.name)
	}
	ver := ap.versions[j]
	return mustJSON(&appEndpointJSON{
		AccountName: id.accountName, ApplicationInstallationDate: fmtSeconds(installed), ApplicationInstallationPath: path,
		ApplicationName: ap.name, CoreCount: id.ag.CoreCount, Cpe: "cpe:2.3:a:" + ap.cpe + ":" + ver + ":*:*:*:*:*:*:*",
		CPUCount: id.ag.CPUCount, DetectionDate: fmtMicros(installed + int64(r.intn(int(6*microsPerHour)))),
		EndpointID: id.ag.ID, EndpointName: id.ag.ComputerName, EndpointType: id.endpointType, EndpointUUID: id.ag.UUID,
		FileSize: 100_000 + r.intn(400_000_000), GroupName: id.groupName, ID: strconv.FormatInt(m.instID(v, a), 10),
		OsArch: id.ag.OsArch, OsName: id.ag.OsName, OsType: id.ag.OsType, OsVersion: id.ag.OsName + " " + id.ag.OsRevision,
		SiteName: id.siteName, Version: ver,
	})
}

type appEndpointsLister struct{ m *vulnModel }

func (l appEndpointsLister) app(q *listQuery) int {
	return l.m.findApp(q.strs["applicationName"][0], q.strs["applicationVendor"][0])
}

func (l appEndpointsLister) count(q *listQuery) int {
	a := l.app(q)
	if a < 0 {
		return 0
	}
	n, _ := l.m.appCounts(a, l.m.agents.scope.groupsFor(q))
	return n
}

func (l appEndpointsLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	m := l.m
	a := l.app(q)
	if a < 0 {
		return nil, key{}, false
	}
	groups := m.agents.scope.groupsFor(q)
	base := m.agents.base
	v, step := 0, 1
	if q.desc {
		v, step = base-1, -1
	}
	if q.after != nil {
		// Row ids increase with v: resume next to the cursor's agent.
		av := int((q.after.id - m.instID(0, a)) / maxApps)
		v = av + step
	}
	var items [][]byte
	var last key
	for ; v >= 0 && v < base; v += step {
		if groups != nil && !groups[v%len(groups)] {
			continue
		}
		j := m.verOf(v, osBitOf(m.agents.agentProfile(v).osType), a)
		if j < 0 {
			continue
		}
		if len(items) == limit {
			return items, last, true
		}
		items = append(items, m.renderInstall(v, a, j, m.ident(v)))
		id := m.instID(v, a)
		last = key{id, id}
	}
	return items, last, false
}

// applicationsTruth keys every installation by endpointId|applicationName|version.
func (m *vulnModel) applicationsTruth() map[string]string {
	out := map[string]string{}
	for v := range m.agents.base {
		bit := osBitOf(m.agents.agentProfile(v).osType)
		var id *agentIdent
		for a := range m.apps {
			j := m.verOf(v, bit, a)
			if j < 0 {
				continue
			}
			if id == nil {
				id = m.ident(v)
			}
			out[id.ag.ID+"|"+m.apps[a].name+"|"+m.apps[a].versions[j]] = sha256Hex(m.renderInstall(v, a, j, id))
		}
	}
	return out
}

// distinctApps counts applications installed on at least one endpoint.
func (m *vulnModel) distinctApps() int {
	n := 0
	for a := range m.apps {
		if m.apps[a].endpoints > 0 {
			n++
		}
	}
	return n
}
