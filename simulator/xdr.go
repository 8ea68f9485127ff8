package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// xdrAssetsEndpoint serves GET /xdr/assets (reference §6.9) when
// Options.XDRAssets is set: one Unified Asset Inventory item per live
// agent (decommissioned included), derived from the agent's current state,
// so s1UpdatedAt/lastUpdateDt equal the agent's updatedAt and the item's
// bytes change exactly when it does. Pagination follows purple-mcp:
// {"limit","nextCursor","skip","totalCount"} (no totalItems); both cursor
// and skip paging work.
var xdrAssetsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/xdr/assets", maxLimit: 1000, sortable: []string{"id", "s1UpdatedAt"}, defaultSort: "id",
		filters: map[string]paramKind{
			"accountIds": kindIDs, "siteIds": kindIDs, "groupIds": kindIDs, "s1UpdatedAt": kindTime,
			"id__in": kindStrings, "osFamily": kindStrings, "osFamily__nin": kindStrings, "name__contains": kindStrings,
		},
		enums: map[string][]string{"osFamily": xdrOSFamilies, "osFamily__nin": xdrOSFamilies},
		unsupported: []string{"surfaces", "category", "subCategory", "resourceType", "assetStatus", "assetCriticality",
			"infectionStatus", "agentAgentVersion", "agentConsoleConnectivity", "agentOperationalState", "names",
			"id__contains", "riskFactors", "missingCoverage", "activeCoverage", "countsFor", "csvFilterId",
			"category__in", "category__nin", "surfaces__in", "osFamily__in"},
		knownSorts: []string{"lastUpdateDt", "lastActiveDt", "firstSeenDt", "createdTime", "name", "agentUuid", "agentId",
			"s1SiteId", "s1AccountId"},
	},
	list:       func(s *Simulator) lister { return xdrLister{s.agents} },
	totalCount: true,
}

var xdrOSFamilies = []string{"Windows", "macOS", "Linux"}

// xdrIDOffset separates asset ids from agent ids (agent ids are spaced
// 4096 apart with jitter below 2048).
const xdrIDOffset = 3001

func xdrOSFamily(osType string) string {
	switch {
	case osType == "macos":
		return "macOS"
	case osType == "linux":
		return "Linux"
	}
	return "Windows"
}

type xdrLister struct{ st *agentStore }

// compile returns the agent filter and an extra predicate (nil: none).
func (l xdrLister) compile(q *listQuery) (*agentFilter, func(v int) bool) {
	st := l.st
	f := &agentFilter{groups: st.scope.groupsFor(q), allowDecom: true, allowActive: true,
		created: fullRange, updated: q.timeRange("s1UpdatedAt")}
	if ids, ok := q.strs["id__in"]; ok {
		f.hasIDs = true
		for _, s := range ids {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				f.ids = append(f.ids, n-xdrIDOffset)
			}
		}
	}
	fam, famNin, names := q.strs["osFamily"], q.strs["osFamily__nin"], q.strs["name__contains"]
	if fam == nil && famNin == nil && names == nil {
		return f, nil
	}
	return f, func(v int) bool {
		h := st.head(v)
		of := xdrOSFamily(h.prof.osType)
		return anyFold(fam, of) && (famNin == nil || !anyFold(famNin, of)) && containsAny(h.host, names)
	}
}

func xdrSortField(sortBy string) string {
	if sortBy == "s1UpdatedAt" {
		return "updatedAt"
	}
	return "id"
}

func (l xdrLister) count(q *listQuery) int {
	st := l.st
	f, extra := l.compile(q)
	st.mu.RLock()
	defer st.mu.RUnlock()
	if f.matchAll() && extra == nil {
		return st.next - len(st.removed)
	}
	cacheKey := strconv.FormatUint(st.version, 10) + "|xdr|" + q.canonical
	st.cacheMu.Lock()
	n, hit := st.counts[cacheKey]
	st.cacheMu.Unlock()
	if hit {
		return n
	}
	order := "id"
	if !f.updated.isFull() {
		order = "updatedAt"
	}
	st.each(f, order, false, nil, func(v int) bool {
		if extra == nil || extra(v) {
			n++
		}
		return true
	})
	st.cacheMu.Lock()
	st.counts[cacheKey] = n
	st.cacheMu.Unlock()
	return n
}

func (l xdrLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	st := l.st
	f, extra := l.compile(q)
	sortBy := xdrSortField(q.sortBy)
	st.mu.RLock()
	defer st.mu.RUnlock()
	var vs []int
	more := false
	st.each(f, sortBy, q.desc, q.after, func(v int) bool {
		if extra != nil && !extra(v) {
			return true
		}
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
		items[i] = st.renderAsset(v)
		last = st.keyOf(v, sortBy)
	}
	return items, last, more
}

type xdrAgentJSON struct {
	AgentVersion        string `json:"agentVersion"`
	ConsoleConnectivity string `json:"consoleConnectivity"`
	ID                  string `json:"id"`
	IsDecommissioned    bool   `json:"isDecommissioned"`
	MitigationMode      string `json:"mitigationMode"`
	NetworkStatus       string `json:"networkStatus"`
	OperationalState    string `json:"operationalState"`
	UUID                string `json:"uuid"`
}

type xdrNIC struct {
	GatewayIP   *string `json:"gatewayIp"`
	GatewayMac  *string `json:"gatewayMac"`
	IP          *string `json:"ip"`
	Mac         string  `json:"mac"`
	Name        string  `json:"name"`
	NetworkName *string `json:"networkName"`
	Subnet      *string `json:"subnet"`
}

type xdrTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// xdrAssetJSON is the §6.9 item (purple-mcp InventoryItem wire names, plus
// the fields Qualys maps: id, cpu, lastRebootDt, serialNumber); fields in
// sorted key order.
type xdrAssetJSON struct {
	ActiveCoverage    []string     `json:"activeCoverage"`
	Agent             xdrAgentJSON `json:"agent"`
	Architecture      string       `json:"architecture"`
	AssetContactEmail *string      `json:"assetContactEmail"`
	AssetCriticality  string       `json:"assetCriticality"`
	AssetEnvironment  string       `json:"assetEnvironment"`
	AssetStatus       string       `json:"assetStatus"`
	Category          string       `json:"category"`
	CoreCount         int          `json:"coreCount"`
	CPU               string       `json:"cpu"`
	DeviceReview      *string      `json:"deviceReview"`
	Domain            string       `json:"domain"`
	FirstSeenDt       string       `json:"firstSeenDt"`
	GatewayIps        []string     `json:"gatewayIps"`
	GatewayMacs       []string     `json:"gatewayMacs"`
	Hostnames         []string     `json:"hostnames"`
	ID                string       `json:"id"`
	IDSecondary       []string     `json:"idSecondary"`
	InfectionStatus   string       `json:"infectionStatus"`
	InternalIps       []string     `json:"internalIps"`
	InternalIpsV6     []string     `json:"internalIpsV6"`
	IPAddress         *string      `json:"ipAddress"`
	IsAdConnector     bool         `json:"isAdConnector"`
	LastActiveDt      string       `json:"lastActiveDt"`
	LastRebootDt      string       `json:"lastRebootDt"`
	LastUpdateDt      string       `json:"lastUpdateDt"`
	MacAddresses      []string     `json:"macAddresses"`
	Manufacturer      string       `json:"manufacturer"`
	Memory            int64        `json:"memory"`
	MemoryReadable    string       `json:"memoryReadable"`
	MissingCoverage   []string     `json:"missingCoverage"`
	ModelName         string       `json:"modelName"`
	Name              string       `json:"name"`
	NetworkInterfaces []xdrNIC     `json:"networkInterfaces"`
	Notes             []string     `json:"notes"`
	Os                string       `json:"os"`
	OsFamily          string       `json:"osFamily"`
	OsNameVersion     string       `json:"osNameVersion"`
	OsUsername        *string      `json:"osUsername"`
	OsVersion         string       `json:"osVersion"`
	ResourceType      string       `json:"resourceType"`
	RiskFactors       []string     `json:"riskFactors"`
	S1AccountID       string       `json:"s1AccountId"`
	S1AccountName     string       `json:"s1AccountName"`
	S1GroupID         string       `json:"s1GroupId"`
	S1GroupName       string       `json:"s1GroupName"`
	S1ManagementID    int          `json:"s1ManagementId"`
	S1ScopeID         string       `json:"s1ScopeId"`
	S1ScopeLevel      string       `json:"s1ScopeLevel"`
	S1ScopePath       string       `json:"s1ScopePath"`
	S1SiteID          string       `json:"s1SiteId"`
	S1SiteName        string       `json:"s1SiteName"`
	S1UpdatedAt       string       `json:"s1UpdatedAt"`
	SerialNumber      *string      `json:"serialNumber"`
	SubCategory       *string      `json:"subCategory"`
	Surfaces          []string     `json:"surfaces"`
	Tags              []xdrTag     `json:"tags"`
}

// renderAsset returns agent v's asset JSON from its current state. Callers hold st.mu.
func (st *agentStore) renderAsset(v int) []byte {
	ag := st.build(v, st.dirty[v])
	id, _ := strconv.ParseInt(ag.ID, 10, 64)
	fam := xdrOSFamily(ag.OsType)
	category, resource := "Workstation", fam+" Workstation"
	switch ag.MachineType {
	case "laptop":
		category, resource = "Laptop", fam+" Laptop"
	case "server", "storage":
		category, resource = "Server", fam+" Server"
	case "kubernetes node", "kubernetes pod", "ecs task":
		category, resource = "Server", "Kubernetes Node"
	}
	manufacturer, model, ok := strings.Cut(ag.ModelName, " - ")
	if !ok {
		manufacturer, model = "", ag.ModelName
	}
	a := &xdrAssetJSON{
		ActiveCoverage: []string{"EDR"}, Architecture: ag.OsArch, AssetCriticality: "medium", AssetEnvironment: "Unknown",
		AssetStatus: "Active", Category: category, CoreCount: ag.CoreCount, CPU: ag.CPUID, Domain: ag.Domain,
		FirstSeenDt: ag.CreatedAt, GatewayIps: []string{}, GatewayMacs: []string{}, Hostnames: []string{ag.ComputerName},
		ID: strconv.FormatInt(id+xdrIDOffset, 10), IDSecondary: []string{ag.UUID}, InfectionStatus: "Clean",
		InternalIps: []string{}, InternalIpsV6: []string{}, IPAddress: ag.ExternalIP, IsAdConnector: ag.IsAdConnector,
		LastActiveDt: ag.LastActiveDate, LastRebootDt: ag.OsStartTime, LastUpdateDt: ag.UpdatedAt, MacAddresses: []string{},
		Manufacturer: manufacturer, Memory: int64(ag.TotalMemory) << 20, MemoryReadable: fmt.Sprintf("%.1f GB", float64(ag.TotalMemory)/1024),
		MissingCoverage: []string{}, ModelName: model, Name: ag.ComputerName, NetworkInterfaces: []xdrNIC{}, Notes: []string{},
		Os: ag.OsName, OsFamily: fam, OsNameVersion: ag.OsName + " " + ag.OsRevision, OsUsername: ag.OsUsername,
		OsVersion: ag.OsRevision, ResourceType: resource, RiskFactors: []string{},
		S1AccountID: ag.AccountID, S1AccountName: ag.AccountName, S1GroupID: ag.GroupID, S1GroupName: ag.GroupName,
		S1ManagementID: 1, S1ScopeID: ag.GroupID, S1ScopeLevel: "Group",
		S1ScopePath: ag.AccountName + "/" + ag.SiteName + "/" + ag.GroupName, S1SiteID: ag.SiteID, S1SiteName: ag.SiteName,
		S1UpdatedAt: ag.UpdatedAt, SerialNumber: ag.SerialNumber, Surfaces: []string{"Endpoint"}, Tags: []xdrTag{},
		Agent: xdrAgentJSON{AgentVersion: ag.AgentVersion, ConsoleConnectivity: "Offline", ID: ag.ID,
			IsDecommissioned: ag.IsDecommissioned, MitigationMode: ag.MitigationMode, NetworkStatus: ag.NetworkStatus,
			OperationalState: ag.OperationalState, UUID: ag.UUID},
	}
	if ag.NetworkStatus == "connected" {
		a.Agent.ConsoleConnectivity = "Online"
	}
	if ag.IsDecommissioned {
		a.AssetStatus = "Decommissioned"
	}
	if ag.Infected {
		a.InfectionStatus = "Infected"
		a.RiskFactors = []string{"Active Threats"}
	}
	if ag.MachineType == "server" {
		a.AssetCriticality = "high"
	}
	if len(ag.ActiveProtection) == 0 && ag.MitigationMode == "detect" {
		a.MissingCoverage = []string{"Protect Mode"}
	}
	for _, ni := range ag.NetworkInterfaces {
		n := xdrNIC{GatewayIP: ni.GatewayIP, GatewayMac: ni.GatewayMacAddress, Mac: ni.Physical, Name: ni.Name}
		if len(ni.Inet) > 0 {
			ip := ni.Inet[0]
			n.IP = &ip
			n.Subnet = strp(ip[:strings.LastIndexByte(ip, '.')] + ".0/24")
			a.InternalIps = append(a.InternalIps, ni.Inet...)
		}
		a.InternalIpsV6 = append(a.InternalIpsV6, ni.Inet6...)
		a.MacAddresses = append(a.MacAddresses, ni.Physical)
		if ni.GatewayIP != nil {
			a.GatewayIps = append(a.GatewayIps, *ni.GatewayIP)
		}
		if ni.GatewayMacAddress != nil {
			a.GatewayMacs = append(a.GatewayMacs, *ni.GatewayMacAddress)
		}
		a.NetworkInterfaces = append(a.NetworkInterfaces, n)
	}
	for _, t := range ag.Tags.SentinelOne {
		a.Tags = append(a.Tags, xdrTag{Key: t.Key, Value: t.Value})
	}
	return mustJSON(a)
}

// xdrTruth hashes every live agent's asset JSON, keyed by asset id.
func (st *agentStore) xdrTruth() map[string]string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make(map[string]string, st.next-len(st.removed))
	for v := 0; v < st.next; v++ {
		if st.live(v) {
			out[strconv.FormatInt(st.idOf(v)+xdrIDOffset, 10)] = sha256Hex(st.renderAsset(v))
		}
	}
	return out
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
