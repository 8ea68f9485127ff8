package ocsf

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// Shared OCSF 2004 Detection Finding types and the mapping tables used by both Threat
// (threat.go) and Alert (alert.go). Attribute names are checked against
// schema/detection_finding.schema.json; captions are those of OCSF 1.6.0.

// Finding activities (finding.json): 1 Create, 2 Update, 3 Close.
const (
	ActivityCreate = 1
	ActivityUpdate = 2
	ActivityClose  = 3
)

// detectionProfiles are the OCSF profiles whose attributes these events carry
// (action/disposition/confidence/malware/attacks: security_control; device: host;
// verdict: incident).
var detectionProfiles = []string{"host", "security_control", "incident"}

type detectionFinding struct {
	baseEvent
	Message       string             `json:"message,omitempty"`
	FindingInfo   findingInfo        `json:"finding_info"`
	IsAlert       bool               `json:"is_alert"`
	ConfidenceID  int                `json:"confidence_id"`
	Confidence    string             `json:"confidence,omitempty"`
	VerdictID     int                `json:"verdict_id"`
	Verdict       string             `json:"verdict,omitempty"`
	ActionID      int                `json:"action_id"`
	Action        string             `json:"action,omitempty"`
	DispositionID int                `json:"disposition_id"`
	Disposition   string             `json:"disposition,omitempty"`
	Device        *device            `json:"device,omitempty"`
	Malware       []malware          `json:"malware,omitempty"`
	Evidences     []evidence         `json:"evidences,omitempty"`
	Resources     []resourceDetails  `json:"resources,omitempty"`
	Unmapped      *detectionUnmapped `json:"unmapped,omitempty"`
}

type detectionUnmapped struct {
	SentinelOne any `json:"sentinelone,omitempty"`
}

type findingInfo struct {
	UID              string         `json:"uid"`
	Title            string         `json:"title,omitempty"`
	Desc             string         `json:"desc,omitempty"`
	Types            []string       `json:"types,omitempty"`
	CreatedTime      int64          `json:"created_time,omitempty"`
	ModifiedTime     int64          `json:"modified_time,omitempty"`
	FirstSeenTime    int64          `json:"first_seen_time,omitempty"`
	LastSeenTime     int64          `json:"last_seen_time,omitempty"`
	Analytic         *analytic      `json:"analytic,omitempty"`
	RelatedAnalytics []analytic     `json:"related_analytics,omitempty"`
	Attacks          []attack       `json:"attacks,omitempty"`
	DataSources      []string       `json:"data_sources,omitempty"`
	RelatedEvents    []relatedEvent `json:"related_events,omitempty"`
}

type analytic struct {
	UID      string `json:"uid,omitempty"`
	Name     string `json:"name,omitempty"`
	TypeID   int    `json:"type_id"`
	Type     string `json:"type,omitempty"`
	Category string `json:"category,omitempty"`
	Desc     string `json:"desc,omitempty"`
	Version  string `json:"version,omitempty"`
}

type mitreRef struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	SrcURL string `json:"src_url,omitempty"`
}

type attack struct {
	Tactic       *mitreRef `json:"tactic,omitempty"`
	Technique    *mitreRef `json:"technique,omitempty"`
	SubTechnique *mitreRef `json:"sub_technique,omitempty"`
}

type relatedEvent struct {
	UID  string `json:"uid"`
	Type string `json:"type,omitempty"`
}

type malware struct {
	Name              string   `json:"name,omitempty"`
	UID               string   `json:"uid,omitempty"`
	ClassificationIDs []int    `json:"classification_ids"`
	Classifications   []string `json:"classifications,omitempty"`
	Path              string   `json:"path,omitempty"`
	Provider          string   `json:"provider,omitempty"`
	SeverityID        int      `json:"severity_id,omitempty"`
	Severity          string   `json:"severity,omitempty"`
	Files             []file   `json:"files,omitempty"`
}

type fingerprint struct {
	AlgorithmID int    `json:"algorithm_id"`
	Algorithm   string `json:"algorithm,omitempty"`
	Value       string `json:"value"`
}

type file struct {
	Name         string        `json:"name"`
	TypeID       int           `json:"type_id"`
	Type         string        `json:"type,omitempty"`
	UID          string        `json:"uid,omitempty"`
	Path         string        `json:"path,omitempty"`
	Ext          string        `json:"ext,omitempty"`
	Size         int64         `json:"size,omitempty"`
	Hashes       []fingerprint `json:"hashes,omitempty"`
	CreatedTime  int64         `json:"created_time,omitempty"`
	ModifiedTime int64         `json:"modified_time,omitempty"`
}

type actorUser struct {
	UID       string `json:"uid,omitempty"`
	Name      string `json:"name,omitempty"`
	Domain    string `json:"domain,omitempty"`
	EmailAddr string `json:"email_addr,omitempty"`
}

type processEntity struct {
	Name string `json:"name,omitempty"`
	Path string `json:"path,omitempty"`
}

type process struct {
	PID           int64           `json:"pid,omitempty"`
	UID           string          `json:"uid,omitempty"`
	Name          string          `json:"name,omitempty"`
	Path          string          `json:"path,omitempty"`
	CmdLine       string          `json:"cmd_line,omitempty"`
	CreatedTime   int64           `json:"created_time,omitempty"`
	IntegrityID   int             `json:"integrity_id,omitempty"`
	Integrity     string          `json:"integrity,omitempty"`
	File          *file           `json:"file,omitempty"`
	User          *actorUser      `json:"user,omitempty"`
	ParentProcess *process        `json:"parent_process,omitempty"`
	Ancestry      []processEntity `json:"ancestry,omitempty"`
}

type networkEndpoint struct {
	IP   string `json:"ip"`
	Port int64  `json:"port,omitempty"`
}

type dnsQuery struct {
	Hostname string `json:"hostname"`
}

type evidence struct {
	Name        string           `json:"name,omitempty"`
	File        *file            `json:"file,omitempty"`
	Process     *process         `json:"process,omitempty"`
	User        *actorUser       `json:"user,omitempty"`
	SrcEndpoint *networkEndpoint `json:"src_endpoint,omitempty"`
	DstEndpoint *networkEndpoint `json:"dst_endpoint,omitempty"`
	Query       *dnsQuery        `json:"query,omitempty"`
}

type resourceDetails struct {
	UID       string  `json:"uid,omitempty"`
	UIDAlt    string  `json:"uid_alt,omitempty"`
	Name      string  `json:"name,omitempty"`
	Hostname  string  `json:"hostname,omitempty"`
	IP        string  `json:"ip,omitempty"`
	Type      string  `json:"type,omitempty"`
	Group     *group  `json:"group,omitempty"`
	AgentList []agent `json:"agent_list,omitempty"`
}

// ---- base event ----

func newFindingEvent(activityID int, activityName string, severityID int, severity string, statusID int, status string, t int64, md metadata) *detectionFinding {
	md.Profiles = detectionProfiles
	if statusID == 0 {
		status = "" // status_id 0 is omitted; so is its caption
	}
	return &detectionFinding{baseEvent: baseEvent{
		ActivityID:   activityID,
		ActivityName: activityName,
		CategoryUID:  CategoryFindings,
		CategoryName: "Findings",
		ClassUID:     ClassDetectionFinding,
		ClassName:    "Detection Finding",
		TypeUID:      ClassDetectionFinding*100 + activityID,
		TypeName:     "Detection Finding: " + activityName,
		SeverityID:   severityID,
		Severity:     severity,
		StatusID:     statusID,
		Status:       status,
		Time:         t,
		Metadata:     md,
	}}
}

// ---- mapping tables ----

// normEnum lower-cases and turns spaces and hyphens into underscores, so the threat
// spellings ("true_positive", "in_progress") and the alert ones ("True positive",
// "In progress", "TRUE_POSITIVE") compare equal.
func normEnum(s string) string {
	return enumReplacer.Replace(strings.ToLower(strings.TrimSpace(s)))
}

var enumReplacer = strings.NewReplacer(" ", "_", "-", "_")

// other returns 99 with the source text as caption, or 0 Unknown when there is none.
func other(raw string) (int, string) {
	if strings.TrimSpace(raw) == "" {
		return 0, "Unknown"
	}
	return 99, strings.TrimSpace(raw)
}

// confidenceOf maps threatInfo.confidenceLevel (and an alert rule's treatAsThreat) to
// OCSF confidence_id: malicious → 3 High, suspicious → 2 Medium, n/a / undefined → 0.
func confidenceOf(level string) (int, string) {
	switch normEnum(level) {
	case "malicious":
		return 3, "High"
	case "suspicious":
		return 2, "Medium"
	case "", "n/a", "na", "undefined", "unknown":
		return 0, "Unknown"
	}
	return other(level)
}

// threatSeverityOf derives severity_id from the confidence level: malicious → 4 High,
// suspicious → 3 Medium, n/a → 0 Unknown.
func threatSeverityOf(level string) (int, string) {
	switch normEnum(level) {
	case "malicious":
		return 4, "High"
	case "suspicious":
		return 3, "Medium"
	case "", "n/a", "na", "undefined", "unknown":
		return 0, "Unknown"
	}
	return other(level)
}

// ruleSeverityOf maps ruleInfo.severity (Low/Medium/High/Critical) to severity_id.
func ruleSeverityOf(sev string) (int, string) {
	switch normEnum(sev) {
	case "info", "informational":
		return 1, "Informational"
	case "low":
		return 2, "Low"
	case "medium":
		return 3, "Medium"
	case "high":
		return 4, "High"
	case "critical":
		return 5, "Critical"
	case "", "unknown", "undefined":
		return 0, "Unknown"
	}
	return other(sev)
}

// verdictOf maps analystVerdict (threat or alert spelling) to verdict_id:
// true_positive → 2, false_positive → 1, suspicious → 4, undefined → 0 (no verdict yet).
func verdictOf(v string) (int, string) {
	switch normEnum(v) {
	case "true_positive":
		return 2, "True Positive"
	case "false_positive":
		return 1, "False Positive"
	case "suspicious":
		return 4, "Suspicious"
	case "", "undefined", "unknown":
		return 0, "Unknown"
	}
	return other(v)
}

// incidentStatusOf maps incidentStatus (threat or alert spelling) to the finding
// status_id: unresolved → 1 New, in_progress → 2 In Progress, resolved → 4 Resolved.
func incidentStatusOf(s string) (int, string) {
	switch normEnum(s) {
	case "unresolved", "new", "open":
		return 1, "New"
	case "in_progress":
		return 2, "In Progress"
	case "resolved":
		return 4, "Resolved"
	case "":
		return 0, "Unknown"
	}
	return other(s)
}

// routingStatus is the three-way status the connector's routing uses:
// "resolved" | "in_progress" | "new" (unresolved, unknown or absent).
func routingStatus(incidentStatus string, resolved bool) string {
	if resolved {
		return "resolved"
	}
	switch normEnum(incidentStatus) {
	case "resolved":
		return "resolved"
	case "in_progress":
		return "in_progress"
	}
	return "new"
}

// findingActivity: Close (3) when resolved; Create (1) when the finding has not been
// updated since it was created (updatedAt absent or not after createdAt); else Update (2).
func findingActivity(created, updated time.Time, resolved bool) (int, string) {
	switch {
	case resolved:
		return ActivityClose, "Close"
	case updated.IsZero() || !updated.After(created):
		return ActivityCreate, "Create"
	}
	return ActivityUpdate, "Update"
}

// disposition and action captions (security_control profile).
const (
	actionUnknown = 0
	actionAllowed = 1
	actionDenied  = 2
)

var actionCaptions = map[int]string{0: "Unknown", 1: "Allowed", 2: "Denied"}

// threatDisposition maps threatInfo.mitigationStatus plus the successful actions of the
// mitigationStatus[] list to disposition_id and action_id:
//
//	mitigated:        remediate/rollback → 11 Corrected; quarantine → 3 Quarantined;
//	                  network_quarantine → 4 Isolated; kill or none → 2 Blocked (action 2 Denied)
//	not_mitigated:    15 Detected (action 1 Allowed)
//	marked_as_benign: 10 Exonerated (action 1 Allowed)
//	any status, latest successful action unquarantine/restore_macros: 9 Restored (action 1 Allowed)
//	absent: 0 Unknown; anything else: 99 with the source text.
func threatDisposition(status string, steps []s1MitigationStep) (dispID int, disp string, actionID int) {
	done := map[string]bool{}
	var latest string
	var latestAt time.Time
	for _, s := range steps {
		if normEnum(s.Status.String()) != "success" {
			continue
		}
		a := normEnum(s.Action.String())
		done[a] = true
		if at := s.LastUpdate.Time; latest == "" || !at.Before(latestAt) {
			latest, latestAt = a, at
		}
	}
	if latest == "unquarantine" || latest == "restore_macros" {
		return 9, "Restored", actionAllowed
	}
	switch normEnum(status) {
	case "mitigated":
		switch {
		case done["remediate"] || done["rollback"]:
			return 11, "Corrected", actionDenied
		case done["quarantine"]:
			return 3, "Quarantined", actionDenied
		case done["network_quarantine"]:
			return 4, "Isolated", actionDenied
		}
		return 2, "Blocked", actionDenied
	case "not_mitigated":
		return 15, "Detected", actionAllowed
	case "marked_as_benign":
		return 10, "Exonerated", actionAllowed
	case "":
		return 0, "Unknown", actionUnknown
	}
	id, c := other(status)
	return id, c, actionUnknown
}

// malwareClassification maps threatInfo.classification to malware.classification_ids.
// Generic classes ("Malware", "PUA", "Hacktool", "Infostealer", …) are 99 Other; the source
// text is kept in classifications[].
func malwareClassification(c string) int {
	n := normEnum(c)
	switch n {
	case "":
		return 0
	case "adware":
		return 1
	case "backdoor":
		return 2
	case "bot", "botnet":
		return 3
	case "bootkit":
		return 4
	case "ddos":
		return 5
	case "downloader":
		return 6
	case "dropper":
		return 7
	case "exploit", "exploit_kit", "exploitkit":
		return 8
	case "keylogger":
		return 9
	case "ransomware":
		return 10
	case "rat", "remote_access_trojan", "remote_access", "remoteaccess":
		return 11
	case "miner", "cryptominer", "coinminer", "crypto_miner", "resource_exploitation":
		return 13
	case "rogue", "rogue_security_software", "fake_av":
		return 14
	case "rootkit":
		return 15
	case "screen_capture":
		return 16
	case "spyware":
		return 17
	case "trojan":
		return 18
	case "virus":
		return 19
	case "webshell", "web_shell":
		return 20
	case "wiper":
		return 21
	case "worm":
		return 22
	}
	return 99
}

// analyticType maps a detection engine (key or title) to analytic.type_id.
func analyticType(key, title string) (int, string) {
	s := normEnum(key + " " + title)
	switch {
	case strings.Contains(s, "behavio") || strings.Contains(s, "executables") || strings.Contains(s, "dynamic") ||
		strings.Contains(s, "exploit"):
		return 2, "Behavioral"
	case strings.Contains(s, "static_ai") || strings.Contains(s, "pre_execution") || strings.Contains(s, "dfi") ||
		strings.Contains(s, "machine_learning") || strings.HasSuffix(s, "_ai") || strings.Contains(s, "_ai_"):
		return 4, "Learning (ML/DL)"
	case strings.Contains(s, "star") || strings.Contains(s, "rule") || strings.Contains(s, "custom") ||
		strings.Contains(s, "blacklist") || strings.Contains(s, "blocklist"):
		return 1, "Rule"
	}
	return 0, "Unknown"
}

// integrityOf maps S1 integrityLevel to process.integrity_id.
func integrityOf(s string) (int, string) {
	switch normEnum(s) {
	case "", "unknown":
		return 0, ""
	case "untrusted":
		return 1, "Untrusted"
	case "low":
		return 2, "Low"
	case "medium":
		return 3, "Medium"
	case "high":
		return 4, "High"
	case "system":
		return 5, "System"
	case "protected":
		return 6, "Protected"
	}
	return other(s)
}

// ---- MITRE ATT&CK ----

var mitreTactics = map[string]string{
	"reconnaissance":       "TA0043",
	"resource_development": "TA0042",
	"initial_access":       "TA0001",
	"execution":            "TA0002",
	"persistence":          "TA0003",
	"privilege_escalation": "TA0004",
	"defense_evasion":      "TA0005",
	"credential_access":    "TA0006",
	"discovery":            "TA0007",
	"lateral_movement":     "TA0008",
	"collection":           "TA0009",
	"exfiltration":         "TA0010",
	"command_and_control":  "TA0011",
	"impact":               "TA0040",
}

// isTechniqueID reports "T1234" or "T1234.001".
func isTechniqueID(s string) bool {
	if len(s) != 5 && len(s) != 9 {
		return false
	}
	if s[0] != 'T' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if i == 5 {
			if c != '.' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// techniqueFromLink reads "…/techniques/T1059/001/" → "T1059.001", "" when absent.
func techniqueFromLink(link string) string {
	i := strings.Index(link, "/techniques/")
	if i < 0 {
		return ""
	}
	parts := strings.Split(strings.Trim(link[i+len("/techniques/"):], "/"), "/")
	if len(parts) == 0 || !isTechniqueID(parts[0]) || len(parts[0]) != 5 {
		return ""
	}
	id := parts[0]
	if len(parts) > 1 && isTechniqueID(id+"."+parts[1]) {
		id += "." + parts[1]
	}
	return id
}

// mitreAttack builds one attacks[] entry from a tactic name and a technique (name, link).
// The technique id comes from the name when it is one ("T1059", "T1059.001"), else from
// the link; a sub-technique id fills sub_technique and its parent technique.uid.
func mitreAttack(tacticName, techName, link string) (attack, string, bool) {
	var a attack
	tacticName, techName, link = strings.TrimSpace(tacticName), strings.TrimSpace(techName), strings.TrimSpace(link)
	if tacticName != "" {
		a.Tactic = &mitreRef{Name: tacticName, UID: mitreTactics[normEnum(tacticName)]}
	}
	id := ""
	if isTechniqueID(techName) {
		id = techName
	} else {
		id = techniqueFromLink(link)
	}
	if techName != "" || id != "" {
		t := &mitreRef{SrcURL: link}
		if techName != id {
			t.Name = techName
		}
		if len(id) == 9 {
			a.SubTechnique = &mitreRef{UID: id, Name: t.Name, SrcURL: link}
			t = &mitreRef{UID: id[:5]}
		} else {
			t.UID = id
		}
		a.Technique = t
	}
	label := id
	if label == "" {
		label = techName
	}
	return a, label, a.Tactic != nil || a.Technique != nil
}

func attackKey(a attack) string {
	var sb strings.Builder
	for _, r := range []*mitreRef{a.Tactic, a.Technique, a.SubTechnique} {
		if r != nil {
			sb.WriteString(r.UID)
			sb.WriteByte('|')
			sb.WriteString(r.Name)
		}
		sb.WriteByte(0)
	}
	return sb.String()
}

// ---- small builders ----

// hashes returns the fingerprints present, in MD5, SHA-1, SHA-256 order.
func hashes(md5, sha1, sha256 string) []fingerprint {
	var out []fingerprint
	if md5 != "" {
		out = append(out, fingerprint{AlgorithmID: 1, Algorithm: "MD5", Value: md5})
	}
	if sha1 != "" {
		out = append(out, fingerprint{AlgorithmID: 2, Algorithm: "SHA-1", Value: sha1})
	}
	if sha256 != "" {
		out = append(out, fingerprint{AlgorithmID: 3, Algorithm: "SHA-256", Value: sha256})
	}
	return out
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(p string) string {
	p = strings.TrimRight(p, `/\`)
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// newFile builds a regular file (type_id 1) from a path and hashes; name falls back to
// fallbackName. nil when there is neither a name nor anything to identify the file.
func newFile(path, fallbackName, md5, sha1, sha256 string) *file {
	name := baseName(path)
	if name == "" {
		name = fallbackName
	}
	h := hashes(md5, sha1, sha256)
	if name == "" && len(h) == 0 {
		return nil
	}
	if name == "" {
		name = h[0].Value
	}
	return &file{Name: name, TypeID: 1, Type: "Regular File", Path: path, Hashes: h}
}

// splitUser turns "DOMAIN\user" into name and domain; nil when empty.
func splitUser(s string) *actorUser {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if i := strings.LastIndexByte(s, '\\'); i > 0 && i < len(s)-1 {
		return &actorUser{Name: s[i+1:], Domain: s[:i]}
	}
	return &actorUser{Name: s}
}

// firstIP returns the first address of FlexStrings whose elements may themselves be
// comma- or space-separated lists ("10.0.0.5, 192.168.1.2").
func firstIP(l FlexStrings) string {
	for _, v := range l {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
			if f != "" {
				return f
			}
		}
	}
	return ""
}

// maxPlausible is the cut-off after which console timestamps are sentinels
// (e.g. "tgtFileModifiedAt": "2185-07-21T23:34:33Z").
var maxPlausible = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// plausible drops sentinel far-future timestamps.
func plausible(t FlexTime) FlexTime {
	if t.After(maxPlausible) {
		return FlexTime{}
	}
	return t
}

// compactObject re-encodes a raw JSON object without its null / "" / "None" members
// (containerInfo and kubernetesInfo are usually all null); nil when nothing is left or
// the value is not an object.
func compactObject(raw json.RawMessage) json.RawMessage {
	r := rawOrNil(raw)
	if r == nil || r[0] != '{' {
		return r
	}
	// Consoles send these objects with every member null far more often than not
	// ({"id":null,"image":null,…}); a CPU profile of the alerts full sync put compactObject's
	// map decode and re-encode at 13% of the alert transform.
	if allNullishObject(r) {
		return nil
	}
	return compactDecoded(r)
}

// compactDecoded is compactObject by decoding r and encoding what is left.
func compactDecoded(r []byte) json.RawMessage {
	var m map[string]json.RawMessage
	if err := fastjson.Unmarshal(r, &m); err != nil {
		return nil
	}
	for k, v := range m {
		t := bytes.TrimSpace(v)
		if len(t) == 0 || isNullish(t) || string(t) == "{}" || string(t) == "[]" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	b, err := fastjson.Marshal(m)
	if err != nil {
		return nil
	}
	return b
}

// allNullishObject reports whether r is a JSON object all of whose member values compactObject
// drops (null, a nullish string, exactly {} or []), reading it without allocating. Anything it
// does not follow (other values, malformed input) is false, and compactObject decodes r instead.
func allNullishObject(r []byte) bool {
	i := skipJSONSpace(r, 1)
	if i < len(r) && r[i] == '}' {
		return skipJSONSpace(r, i+1) == len(r)
	}
	for {
		// "key" :
		if i >= len(r) || r[i] != '"' {
			return false
		}
		end := jsonStringEnd(r, i)
		if end < 0 {
			return false
		}
		i = skipJSONSpace(r, end)
		if i >= len(r) || r[i] != ':' {
			return false
		}
		i = skipJSONSpace(r, i+1)
		// value
		var v []byte
		switch {
		case i >= len(r):
			return false
		case r[i] == '"':
			end = jsonStringEnd(r, i)
			if end < 0 {
				return false
			}
			v = r[i:end]
		case r[i] == 'n' || r[i] == '{' || r[i] == '[':
			if end = i + 2; r[i] == 'n' {
				end = i + 4
			}
			if end > len(r) {
				return false
			}
			v = r[i:end]
		default:
			return false
		}
		if !isNullish(v) && string(v) != "{}" && string(v) != "[]" {
			return false
		}
		i = skipJSONSpace(r, end)
		switch {
		case i < len(r) && r[i] == ',':
			i = skipJSONSpace(r, i+1)
		case i < len(r) && r[i] == '}':
			return skipJSONSpace(r, i+1) == len(r)
		default:
			return false
		}
	}
}

// jsonStringEnd is the index just past the JSON string literal starting at r[i] == '"', or -1.
func jsonStringEnd(r []byte, i int) int {
	for j := i + 1; j < len(r); j++ {
		switch r[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

func skipJSONSpace(r []byte, i int) int {
	for i < len(r) && (r[i] == ' ' || r[i] == '\t' || r[i] == '\n' || r[i] == '\r') {
		i++
	}
	return i
}

// endpointFacts are the device attributes a threat or an alert knows about its agent.
type endpointFacts struct {
	AgentID, UUID, Hostname, Domain, IP      string
	OSName, OSType, OSRevision, MachineType  string
	AgentVersion, Owner                      string
	AccountID, AccountName, SiteID, SiteName string
	GroupID, GroupName                       string
	Interfaces                               []s1NetIf
}

// device builds the OCSF device; nil when nothing identifies it.
func (f *endpointFacts) device() *device {
	d := &device{
		UID:      f.AgentID,
		UIDAlt:   f.UUID,
		Name:     f.Hostname,
		Hostname: f.Hostname,
		Domain:   f.Domain,
		IP:       f.IP,
	}
	d.TypeID, d.Type = deviceType(f.MachineType, "")
	for _, nif := range f.Interfaces {
		ni := networkInterface{UID: nif.ID.String(), Name: nif.Name.String(), MAC: normalizeMAC(nif.Physical.String())}
		if len(nif.Inet) > 0 {
			ni.IP = nif.Inet[0]
		} else if len(nif.Inet6) > 0 {
			ni.IP = nif.Inet6[0]
		}
		if ni == (networkInterface{}) {
			continue
		}
		d.NetworkInterfaces = append(d.NetworkInterfaces, ni)
		if d.IP == "" && len(nif.Inet) > 0 {
			d.IP = nif.Inet[0]
		}
		if d.MAC == "" && len(nif.Inet) > 0 {
			d.MAC = ni.MAC
		}
	}
	if d.UID == "" && d.Hostname == "" && d.IP == "" {
		if d.UIDAlt == "" {
			return nil
		}
		// the schema needs ip, uid, name or hostname: an agent known only by its UUID
		d.UID, d.UIDAlt = d.UIDAlt, ""
	}
	if name := firstNonEmpty(f.OSName, f.OSType); name != "" {
		os := &deviceOS{Name: name, Version: f.OSRevision, Build: f.OSRevision}
		os.TypeID, os.Type = osType(f.OSType)
		d.OS = os
	}
	d.AgentList = []agent{f.agent()}
	if g := (group{UID: f.GroupID, Name: f.GroupName}); g.UID != "" || g.Name != "" {
		g.Type = "SentinelOne group"
		d.Groups = []group{g}
	}
	if org := (organization{UID: f.AccountID, Name: f.AccountName, OUUID: f.SiteID, OUName: f.SiteName}); org.UID != "" || org.Name != "" {
		d.Org = &org
	}
	if f.Owner != "" {
		d.Owner = &user{Name: f.Owner}
	}
	return d
}

func (f *endpointFacts) agent() agent {
	return agent{
		Name: ProductName, UID: f.AgentID, UIDAlt: f.UUID, TypeID: 1, Type: "Endpoint Detection and Response",
		VendorName: VendorName, Version: f.AgentVersion,
	}
}

// resource is the affected endpoint as a resources[] entry; nil without a uid or name.
func (f *endpointFacts) resource(d *device) *resourceDetails {
	if d == nil {
		return nil
	}
	r := &resourceDetails{UID: d.UID, UIDAlt: d.UIDAlt, Name: d.Hostname, Hostname: d.Hostname, IP: d.IP, Type: "Endpoint", AgentList: d.AgentList}
	if len(d.Groups) > 0 {
		g := d.Groups[0]
		r.Group = &g
	}
	if r.UID == "" && r.Name == "" {
		return nil
	}
	return r
}

// siteOnly reports a site with no account: OCSF org needs an account uid or name, so the
// site goes to unmapped instead.
func (f *endpointFacts) siteOnly() bool {
	return f.AccountID == "" && f.AccountName == "" && (f.SiteID != "" || f.SiteName != "")
}

// marshalFinding encodes the event; errors are impossible with these types.
func marshalFinding(ev *detectionFinding) ([]byte, error) { return marshalEvent(ev) }
