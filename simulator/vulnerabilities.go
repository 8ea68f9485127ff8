package simulator

import (
	"encoding/json"
	"slices"
	"strconv"
)

// risksEndpoint serves GET /application-management/risks (reference §6.8,
// items §9.1). riskUpdatedDate is a filter only: the item carries no such
// field, as in the reference.
var risksEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/application-management/risks", maxLimit: 1000, sortable: []string{"id", "detectionDate"}, defaultSort: "id",
		filters: map[string]paramKind{
			"accountIds": kindIDs, "siteIds": kindIDs, "groupIds": kindIDs,
			"riskUpdatedDate": kindTime, "detectionDate": kindTime, "publishedDate": kindTime,
			"includeRemovals": kindBools, "severities": kindStrings, "osTypes": kindStrings,
			"cveId__contains": kindStrings, "applicationNames": kindStrings, "application__contains": kindStrings,
			"applicationVendor__contains": kindStrings, "vendors": kindStrings, "endpointName__contains": kindStrings,
		},
		single: []string{"accountIds", "siteIds", "groupIds"},
		enums:  map[string][]string{"severities": riskSeverities, "osTypes": osTypeValues},
		unsupported: []string{
			"daysFromCveDetection", "osVersions", "endpointTypes", "domains", "domain__contains", "lastScanResults",
			"analystVerdict", "mitigationStatus", "exploitCodeMaturity", "exploitedInTheWild", "remediationLevels",
			"reportConfidence", "riskScore__between",
		},
		knownSorts: []string{"accountId", "siteId", "cveId", "endpointName", "application", "applicationVendor", "baseScore",
			"severity", "daysDetected", "publishedDate", "lastScanDate", "lastScanResult", "nvdBaseScore", "riskScore",
			"exploitCodeMaturity", "remediationLevel", "reportConfidence", "mitigationStatus"},
	},
	list: func(s *Simulator) lister { return riskLister{s.risks} },
}

// riskStore is the risk-row stream: an evStore over rows (createdAt is
// detectionDate, updatedAt the hidden riskUpdatedDate) whose content comes
// from the vulnModel; added rows keep their cell in added.
type riskStore struct {
	*evStore
	m        *vulnModel
	scanAt   int64      // construction time: base lastScanDate is at most this
	added    []riskCell // cells of added rows (index v-base)
	addedSet map[riskCell]bool
	removedN int
	// CVEs present in the tenant (sorted by natural key) and, per CVE,
	// the (application, version) pairs that carry it.
	present []int32
	pairs   map[int32][][2]int32
}

const (
	statusDetected = 0
	statusRemoved  = 1
)

func newRiskStore(seed uint64, m *vulnModel, nowUS int64) *riskStore {
	rs := &riskStore{
		evStore: newEvStore(seed, "risk", m.baseRows(), nowUS, 90*microsPerDay, 1_700_000_000_000_000_000),
		m:       m, scanAt: nowUS, addedSet: map[riskCell]bool{}, pairs: map[int32][][2]int32{},
	}
	for a := range m.apps {
		ap := &m.apps[a]
		for j := range ap.versions {
			installed := false
			for g := range m.groups {
				installed = installed || ap.counts[g*len(ap.versions)+j] > 0
			}
			if installed {
				for _, c := range ap.cves[j] {
					rs.addPair(c, a, j)
				}
			}
		}
	}
	return rs
}

func (rs *riskStore) addPair(c int32, a, j int) {
	p := [2]int32{int32(a), int32(j)}
	if slices.Contains(rs.pairs[c], p) {
		return
	}
	if len(rs.pairs[c]) == 0 {
		k := rs.m.cves[c].sortKey()
		i, _ := slices.BinarySearchFunc(rs.present, k, func(x int32, k int64) int {
			return cmpInt64(rs.m.cves[x].sortKey(), k)
		})
		rs.present = slices.Insert(rs.present, i, c)
	}
	rs.pairs[c] = append(rs.pairs[c], p)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// riskDecoder resolves rows to cells and endpoints, caching the last agent
// (walks visit an agent's rows consecutively). One per request; callers
// hold rs.mu.
type riskDecoder struct {
	rs      *riskStore
	v       int
	cells   []riskCell
	identV  int
	identAg *agentIdent
}

func (rs *riskStore) decoder() *riskDecoder { return &riskDecoder{rs: rs, v: -1, identV: -1} }

func (d *riskDecoder) cell(r int) riskCell {
	rs := d.rs
	if r >= rs.base {
		return rs.added[r-rs.base]
	}
	m := rs.m
	if d.v < 0 || int64(r) < m.prefix[d.v] || int64(r) >= m.prefix[d.v+1] {
		d.v = m.agentOfRow(r)
		d.cells = m.agentCells(d.v, d.cells[:0])
	}
	return d.cells[r-int(m.prefix[d.v])]
}

func (d *riskDecoder) ident(v int) *agentIdent {
	if v != d.identV {
		d.identV, d.identAg = v, d.rs.m.ident(v)
	}
	return d.identAg
}

// status and severity of row r (overlay applied).
func (rs *riskStore) statusOf(r int) int {
	if s := rs.dirty[r]; s != nil && s.status >= 0 {
		return int(s.status)
	}
	return statusDetected
}

func (rs *riskStore) severityOf(r int, c riskCell) (sev, score int) {
	if s := rs.dirty[r]; s != nil && s.severity >= 0 {
		return int(s.severity), bandScore[s.severity]
	}
	cv := &rs.m.cves[c.cve]
	return cv.severity(), cv.score
}

// riskJSON is the §9.1 item; fields in sorted key order. VLN-SKU rows
// (agents in odd-indexed sites) have no baseScore but nvdBaseScore,
// riskScore and the exploitability fields.
type riskJSON struct {
	Application         string  `json:"application"`
	ApplicationName     string  `json:"applicationName"`
	ApplicationVendor   string  `json:"applicationVendor"`
	ApplicationVersion  string  `json:"applicationVersion"`
	BaseScore           *string `json:"baseScore,omitempty"`
	CveID               string  `json:"cveId"`
	CvssVersion         string  `json:"cvssVersion"`
	DaysDetected        int     `json:"daysDetected"`
	DetectionDate       string  `json:"detectionDate"`
	EndpointID          string  `json:"endpointId"`
	EndpointName        string  `json:"endpointName"`
	EndpointType        string  `json:"endpointType"`
	ExploitCodeMaturity *string `json:"exploitCodeMaturity,omitempty"`
	ID                  string  `json:"id"`
	LastScanDate        string  `json:"lastScanDate"`
	LastScanResult      string  `json:"lastScanResult"`
	MarkType            string  `json:"markType"`
	MarkedBy            *string `json:"markedBy"`
	MarkedDate          *string `json:"markedDate"`
	MitigationStatus    *string `json:"mitigationStatus,omitempty"`
	NvdBaseScore        *string `json:"nvdBaseScore,omitempty"`
	NvdCvssVersion      *string `json:"nvdCvssVersion,omitempty"`
	OsType              string  `json:"osType"`
	PublishedDate       string  `json:"publishedDate"`
	Reason              *string `json:"reason"`
	RemediationLevel    *string `json:"remediationLevel,omitempty"`
	ReportConfidence    *string `json:"reportConfidence,omitempty"`
	RiskScore           *string `json:"riskScore,omitempty"`
	Severity            string  `json:"severity"`
	Status              string  `json:"status"`
}

// render returns row r's exact JSON. Callers hold rs.mu.
func (d *riskDecoder) render(r int) []byte {
	rs := d.rs
	c := d.cell(r)
	id := d.ident(c.agent)
	ap := &rs.m.apps[c.app]
	cv := &rs.m.cves[c.cve]
	detected := rs.createdOf(r)
	lastScan := max(detected, rs.scanAt-int64(hashOf(rs.seed, saltOf("scan"), c.agent)%uint64(36*microsPerHour)))
	st := rs.dirty[r]
	if st != nil && st.gen > 0 {
		lastScan = st.updated
	}
	lastScan -= lastScan % microsPerSecond
	sev, score := rs.severityOf(r, c)
	status := "Detected"
	if rs.statusOf(r) == statusRemoved {
		status = "Removed"
	}
	ver := ap.versions[c.ver]
	j := &riskJSON{
		Application: ap.name + " " + ver, ApplicationName: ap.name, ApplicationVendor: ap.vendor, ApplicationVersion: ver,
		CveID: cv.id(), CvssVersion: "3.1", DaysDetected: int(max(lastScan-detected, 0) / microsPerDay),
		DetectionDate: fmtMicros(detected), EndpointID: id.ag.ID, EndpointName: id.ag.ComputerName, EndpointType: id.endpointType,
		ID: strconv.FormatInt(rs.idOf(r), 10), LastScanDate: fmtSeconds(lastScan), LastScanResult: "Succeeded",
		OsType: id.ag.OsType, PublishedDate: fmtSeconds(cv.published), Severity: riskSeverities[sev], Status: status,
	}
	if id.vln {
		j.NvdBaseScore, j.NvdCvssVersion = strp(fmtScore1(score)), strp("3.1")
		j.RiskScore = strp(fmtScore1(min(100, score*(8+int(cv.exploited))/9)))
		j.ExploitCodeMaturity = &maturityValues[cv.maturity]
		j.RemediationLevel = &remediationValues[cv.remediation]
		j.ReportConfidence = &confidenceValues[cv.confidence]
		j.MitigationStatus = strp("Not mitigated")
	} else {
		j.BaseScore = strp(fmtScore2(score))
	}
	return mustJSON(j)
}

// compile turns a /risks query into an evWalk.
func (rs *riskStore) compile(q *listQuery, d *riskDecoder) *evWalk {
	w := &evWalk{created: q.timeRange("detectionDate"), updated: q.timeRange("riskUpdatedDate"), reported: fullRange}
	withRemoved := slices.Contains(q.bools["includeRemovals"], true)
	groups := rs.m.agents.scope.groupsFor(q)
	sev := enumMask(q, "severities", riskSeverities)
	osIn := q.strs["osTypes"]
	cves, names, apps := q.strs["cveId__contains"], q.strs["applicationNames"], q.strs["application__contains"]
	vendorSub, vendors, hosts := q.strs["applicationVendor__contains"], q.strs["vendors"], q.strs["endpointName__contains"]
	published := q.timeRange("publishedDate")
	plain := groups == nil && sev == nil && osIn == nil && cves == nil && names == nil && apps == nil &&
		vendorSub == nil && vendors == nil && hosts == nil && published.isFull()
	w.ok = func(r int) bool {
		if !withRemoved && rs.statusOf(r) == statusRemoved {
			return false
		}
		if plain {
			return true
		}
		c := d.cell(r)
		if groups != nil && !groups[c.agent%len(groups)] {
			return false
		}
		if sev != nil {
			if s, _ := rs.severityOf(r, c); !sev[s] {
				return false
			}
		}
		ap, cv := &rs.m.apps[c.app], &rs.m.cves[c.cve]
		if !published.contains(cv.published) || !containsAny(cv.id(), cves) || !anyFold(names, ap.name) ||
			!containsAny(ap.name+" "+ap.versions[c.ver], apps) || !containsAny(ap.vendor, vendorSub) || !anyFold(vendors, ap.vendor) {
			return false
		}
		if osIn != nil && !anyFold(osIn, rs.m.agents.agentProfile(c.agent).osType) {
			return false
		}
		return hosts == nil || containsAny(rs.m.agents.head(c.agent).host, hosts)
	}
	return w
}

// riskSortField maps the public sortBy to the evStore field.
func riskSortField(sortBy string) string {
	if sortBy == "detectionDate" {
		return "createdAt"
	}
	return "id"
}

type riskLister struct{ rs *riskStore }

func (l riskLister) count(q *listQuery) int {
	rs := l.rs
	if q.canonical == "" {
		rs.mu.RLock()
		defer rs.mu.RUnlock()
		return rs.next - rs.removedN
	}
	if q.canonical == "includeRemovals=true" {
		return rs.liveCount()
	}
	return rs.evStore.count(rs.compile(q, rs.decoder()), q.canonical)
}

func (l riskLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	d := l.rs.decoder()
	return l.rs.evStore.page(l.rs.compile(q, d), riskSortField(q.sortBy), q.desc, q.after, limit, d.render)
}

// --- mutations (Simulator methods in simulator.go) ---

func (rs *riskStore) changeSeverity(n int, now int64) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	d := rs.decoder()
	picked := rs.pick(n, func(r int) bool { return rs.statusOf(r) == statusDetected })
	ids := make([]string, 0, len(picked))
	for _, r := range picked {
		cur, _ := rs.severityOf(r, d.cell(r))
		next := cur + 1
		if cur == 3 {
			next = 2
		}
		rs.touch(r, now, func(s *evState) { s.severity = int8(next) })
		ids = append(ids, strconv.FormatInt(rs.idOf(r), 10))
	}
	rs.mutated()
	return ids
}

func (rs *riskStore) remove(n int, now int64) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	picked := rs.pick(n, func(r int) bool { return rs.statusOf(r) == statusDetected })
	ids := make([]string, 0, len(picked))
	for _, r := range picked {
		if rs.statusOf(r) == statusRemoved {
			continue // everything is already removed
		}
		rs.touch(r, now, func(s *evState) { s.status = statusRemoved })
		rs.removedN++
		ids = append(ids, strconv.FormatInt(rs.idOf(r), 10))
	}
	rs.mutated()
	return ids
}

// add creates n rows: a CVE newly detected on an existing installation.
func (rs *riskStore) add(n int, now int64) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	m := rs.m
	if len(m.cves) == 0 || len(m.apps) == 0 || m.agents.base == 0 {
		return nil
	}
	ids := make([]string, 0, n)
	for attempts := 0; len(ids) < n && attempts < 64*n+1024; attempts++ {
		v := int(rs.picker.next() % uint64(m.agents.base))
		bit := osBitOf(m.agents.agentProfile(v).osType)
		a := int(rs.picker.next() % uint64(len(m.apps)))
		j := m.verOf(v, bit, a)
		if j < 0 {
			continue
		}
		c := int32(rs.picker.next() % uint64(len(m.cves)))
		cell := riskCell{agent: v, app: int32(a), ver: int8(j), cve: c}
		if slices.Contains(m.apps[a].cves[j], c) || rs.addedSet[cell] {
			continue
		}
		rs.addedSet[cell] = true
		rs.added = append(rs.added, cell)
		r := rs.evStore.add(now, nil)
		rs.addPair(c, a, j)
		ids = append(ids, strconv.FormatInt(rs.idOf(r), 10))
	}
	rs.mutated()
	return ids
}

func (rs *riskStore) distinctCVEs() []string {
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	out := make([]string, len(rs.present))
	for i, c := range rs.present {
		out[i] = rs.m.cves[c].id()
	}
	return out
}

// truth hashes every row; detectedOnly skips Removed rows.
func (rs *riskStore) truthRows(detectedOnly bool) map[string]string {
	d := rs.decoder()
	all := rs.truth(d.render)
	if !detectedOnly {
		return all
	}
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	for r := range rs.dirty {
		if rs.statusOf(r) == statusRemoved {
			delete(all, strconv.FormatInt(rs.idOf(r), 10))
		}
	}
	return all
}

// --- GET /application-management/risks/cves (§9.2) ---

var riskCVEsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/application-management/risks/cves", maxLimit: 1000, sortable: []string{"cveId"}, defaultSort: "cveId",
		filters: map[string]paramKind{
			"applicationName": kindString, "applicationVendor": kindString, "applicationVersions": kindStrings,
			"cveId__contains": kindStrings, "severities": kindStrings, "publishedDate": kindTime,
		},
		enums: map[string][]string{"severities": riskSeverities},
		unsupported: []string{"applicationIds", "exploitedInTheWild", "exploitCodeMaturity", "remediationLevels",
			"reportConfidence", "analystVerdict", "accountIds", "siteIds", "groupIds"},
	},
	list: func(s *Simulator) lister { return cveLister{s.risks} },
}

type cveJSON struct {
	CveID               string            `json:"cveId"`
	CvssVersion         string            `json:"cvssVersion"`
	Description         string            `json:"description"`
	ExploitCodeMaturity string            `json:"exploitCodeMaturity"`
	ExploitedInTheWild  string            `json:"exploitedInTheWild"`
	FpFnMarks           []json.RawMessage `json:"fpFnMarks"`
	MitreURL            string            `json:"mitreUrl"`
	NvdBaseScore        string            `json:"nvdBaseScore"`
	NvdURL              string            `json:"nvdUrl"`
	PublishedDate       string            `json:"publishedDate"`
	RemediationLevel    string            `json:"remediationLevel"`
	ReportConfidence    string            `json:"reportConfidence"`
	RiskScore           string            `json:"riskScore"`
	Severity            string            `json:"severity"`
}

func (m *vulnModel) renderCVE(c int32) []byte {
	cv := &m.cves[c]
	id := cv.id()
	return mustJSON(&cveJSON{
		CveID: id, CvssVersion: "3.1", Description: cv.description,
		ExploitCodeMaturity: maturityValues[cv.maturity], ExploitedInTheWild: exploitedValues[cv.exploited],
		FpFnMarks: []json.RawMessage{}, MitreURL: "https://cve.mitre.org/cgi-bin/cvename.cgi?name=" + id,
		NvdBaseScore: fmtScore1(cv.score), NvdURL: "https://nvd.nist.gov/vuln/detail/" + id,
		PublishedDate: fmtSeconds(cv.published), RemediationLevel: remediationValues[cv.remediation],
		ReportConfidence: confidenceValues[cv.confidence], RiskScore: fmtScore1(min(100, cv.score*(8+int(cv.exploited))/9)),
		Severity: riskSeverities[cv.severity()],
	})
}

type cveLister struct{ rs *riskStore }

// matching returns the present CVEs matching q, in ascending key order.
// Callers hold rs.mu.
func (l cveLister) matching(q *listQuery) []int32 {
	rs := l.rs
	m := rs.m
	sev := enumMask(q, "severities", riskSeverities)
	subs, published := q.strs["cveId__contains"], q.timeRange("publishedDate")
	name, vendor, versions := q.strs["applicationName"], q.strs["applicationVendor"], q.strs["applicationVersions"]
	var out []int32
	for _, c := range rs.present {
		cv := &m.cves[c]
		if !inMask(sev, cv.severity()) || !containsAny(cv.id(), subs) || !published.contains(cv.published) {
			continue
		}
		if name != nil || vendor != nil || versions != nil {
			if !slices.ContainsFunc(rs.pairs[c], func(p [2]int32) bool {
				ap := &m.apps[p[0]]
				return anyFold(name, ap.name) && anyFold(vendor, ap.vendor) && anyFold(versions, ap.versions[p[1]])
			}) {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

func (l cveLister) count(q *listQuery) int {
	l.rs.mu.RLock()
	defer l.rs.mu.RUnlock()
	return len(l.matching(q))
}

func (l cveLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	rs := l.rs
	rs.mu.RLock()
	defer rs.mu.RUnlock()
	all := l.matching(q)
	if q.desc {
		slices.Reverse(all)
	}
	keyOf := func(c int32) key { k := rs.m.cves[c].sortKey(); return key{k, k} }
	start := 0
	if q.after != nil {
		for start < len(all) {
			c := keyOf(all[start]).cmp(*q.after)
			if (!q.desc && c > 0) || (q.desc && c < 0) {
				break
			}
			start++
		}
	}
	end := min(len(all), start+limit)
	items := make([][]byte, 0, end-start)
	var last key
	for _, c := range all[start:end] {
		items = append(items, rs.m.renderCVE(c))
		last = keyOf(c)
	}
	return items, last, end < len(all)
}
