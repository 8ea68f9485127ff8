package ocsf

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// StreamThreats is the stream / log name of threat records.
const StreamThreats = "threats"

const threatMapping = "SentinelOne threat to OCSF 1.6.0 Detection Finding"

// s1Threat is the /web/api/v2.1/threats item (reference §8.1). It has no top-level
// timestamps: createdAt / updatedAt live only under threatInfo, and top-level ones (as a
// peer once read by mistake) are deliberately not decoded.
type s1Threat struct {
	ID                 FlexString         `json:"id"`
	ThreatInfo         s1ThreatInfo       `json:"threatInfo"`
	AgentRealtimeInfo  s1AgentRealtime    `json:"agentRealtimeInfo"`
	AgentDetectionInfo s1AgentDetection   `json:"agentDetectionInfo"`
	MitigationStatus   []s1MitigationStep `json:"mitigationStatus"`
	Indicators         []s1Indicator      `json:"indicators"`
	WhiteningOptions   FlexStrings        `json:"whiteningOptions"`
	ContainerInfo      json.RawMessage    `json:"containerInfo"`
	KubernetesInfo     json.RawMessage    `json:"kubernetesInfo"`
	EcsInfo            json.RawMessage    `json:"ecsInfo"`
}

type s1ThreatInfo struct {
	ThreatID                    FlexString      `json:"threatId"`
	ThreatName                  FlexString      `json:"threatName"`
	Classification              FlexString      `json:"classification"`
	ClassificationSource        FlexString      `json:"classificationSource"`
	ConfidenceLevel             FlexString      `json:"confidenceLevel"`
	AnalystVerdict              FlexString      `json:"analystVerdict"`
	AnalystVerdictDescription   FlexString      `json:"analystVerdictDescription"`
	IncidentStatus              FlexString      `json:"incidentStatus"`
	IncidentStatusDescription   FlexString      `json:"incidentStatusDescription"`
	MitigationStatus            FlexString      `json:"mitigationStatus"`
	MitigationStatusDescription FlexString      `json:"mitigationStatusDescription"`
	InitiatedBy                 FlexString      `json:"initiatedBy"`
	InitiatedByDescription      FlexString      `json:"initiatedByDescription"`
	InitiatingUserID            FlexString      `json:"initiatingUserId"`
	InitiatingUsername          FlexString      `json:"initiatingUsername"`
	DetectionType               FlexString      `json:"detectionType"`
	DetectionEngines            []s1Engine      `json:"detectionEngines"`
	Engines                     FlexStrings     `json:"engines"`
	CreatedAt                   FlexTime        `json:"createdAt"`
	UpdatedAt                   FlexTime        `json:"updatedAt"`
	IdentifiedAt                FlexTime        `json:"identifiedAt"`
	SHA1                        FlexString      `json:"sha1"`
	SHA256                      FlexString      `json:"sha256"`
	MD5                         FlexString      `json:"md5"`
	FilePath                    FlexString      `json:"filePath"`
	FileDisplayName             FlexString      `json:"fileDisplayName"`
	FileSize                    FlexInt         `json:"fileSize"`
	FileExtension               FlexString      `json:"fileExtension"`
	FileExtensionType           FlexString      `json:"fileExtensionType"`
	FileVerificationType        FlexString      `json:"fileVerificationType"`
	CertificateID               FlexString      `json:"certificateId"`
	IsValidCertificate          FlexBool        `json:"isValidCertificate"`
	PublisherName               FlexString      `json:"publisherName"`
	OriginatorProcess           FlexString      `json:"originatorProcess"`
	ProcessUser                 FlexString      `json:"processUser"`
	MaliciousProcessArguments   FlexString      `json:"maliciousProcessArguments"`
	Storyline                   FlexString      `json:"storyline"`
	CollectionID                FlexString      `json:"collectionId"`
	CloudFilesHashVerdict       FlexString      `json:"cloudFilesHashVerdict"`
	AutomaticallyResolved       FlexBool        `json:"automaticallyResolved"`
	FailedActions               FlexBool        `json:"failedActions"`
	PendingActions              FlexBool        `json:"pendingActions"`
	RebootRequired              FlexBool        `json:"rebootRequired"`
	ReachedEventsLimit          FlexBool        `json:"reachedEventsLimit"`
	MitigatedPreemptively       FlexBool        `json:"mitigatedPreemptively"`
	IsFileless                  FlexBool        `json:"isFileless"`
	ExternalTicketExists        FlexBool        `json:"externalTicketExists"`
	ExternalTicketID            FlexString      `json:"externalTicketId"`
	BrowserType                 FlexString      `json:"browserType"`
	RootProcessUpn              FlexString      `json:"rootProcessUpn"`
	MacroModules                json.RawMessage `json:"macroModules"`
	Resolved                    FlexBool        `json:"resolved"` // API 2.0 backward compatibility
}

// s1Engine is a detectionEngines[] item: an object {key, title} (current consoles) or a
// plain string (the swagger example dump).
type s1Engine struct {
	Key   string `json:"key,omitempty"`
	Title string `json:"title,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *s1Engine) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Key   FlexString `json:"key"`
			Title FlexString `json:"title"`
		}
		if err := fastjson.Unmarshal(b, &o); err != nil {
			return err
		}
		*e = s1Engine{Key: o.Key.String(), Title: o.Title.String()}
		return nil
	}
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*e = s1Engine{Title: s.String()}
	return nil
}

type s1AgentRealtime struct {
	AgentID               FlexString      `json:"agentId"`
	AgentUUID             FlexString      `json:"agentUuid"`
	AgentComputerName     FlexString      `json:"agentComputerName"`
	AgentDomain           FlexString      `json:"agentDomain"`
	AgentOsType           FlexString      `json:"agentOsType"`
	AgentOsName           FlexString      `json:"agentOsName"`
	AgentOsRevision       FlexString      `json:"agentOsRevision"`
	AgentMachineType      FlexString      `json:"agentMachineType"`
	AgentVersion          FlexString      `json:"agentVersion"`
	AgentIsActive         FlexBool        `json:"agentIsActive"`
	AgentIsDecommissioned FlexBool        `json:"agentIsDecommissioned"`
	AgentDecommissionedAt json.RawMessage `json:"agentDecommissionedAt"` // Boolean in the spec; kept verbatim
	AgentInfected         FlexBool        `json:"agentInfected"`
	AgentMitigationMode   FlexString      `json:"agentMitigationMode"`
	AgentNetworkStatus    FlexString      `json:"agentNetworkStatus"`
	ActiveThreats         FlexInt         `json:"activeThreats"`
	RebootRequired        FlexBool        `json:"rebootRequired"`
	OperationalState      FlexString      `json:"operationalState"`
	ScanStatus            FlexString      `json:"scanStatus"`
	ScanStartedAt         FlexTime        `json:"scanStartedAt"`
	ScanFinishedAt        FlexTime        `json:"scanFinishedAt"`
	ScanAbortedAt         FlexTime        `json:"scanAbortedAt"`
	StorageName           FlexString      `json:"storageName"`
	StorageType           FlexString      `json:"storageType"`
	UserActionsNeeded     FlexStrings     `json:"userActionsNeeded"`
	AccountID             FlexString      `json:"accountId"`
	AccountName           FlexString      `json:"accountName"`
	SiteID                FlexString      `json:"siteId"`
	SiteName              FlexString      `json:"siteName"`
	GroupID               FlexString      `json:"groupId"`
	GroupName             FlexString      `json:"groupName"`
	NetworkInterfaces     []s1NetIf       `json:"networkInterfaces"`
}

type s1AgentDetection struct {
	AgentUUID                 FlexString      `json:"agentUuid"`
	AgentVersion              FlexString      `json:"agentVersion"`
	AgentOsName               FlexString      `json:"agentOsName"`
	AgentOsRevision           FlexString      `json:"agentOsRevision"`
	AgentDomain               FlexString      `json:"agentDomain"`
	AgentIPV4                 FlexStrings     `json:"agentIpV4"`
	AgentIPV6                 FlexStrings     `json:"agentIpV6"`
	ExternalIP                FlexString      `json:"externalIp"`
	AgentRegisteredAt         FlexTime        `json:"agentRegisteredAt"`
	AgentLastLoggedInUserName FlexString      `json:"agentLastLoggedInUserName"`
	AgentLastLoggedInUserMail FlexString      `json:"agentLastLoggedInUserMail"`
	AgentLastLoggedInUpn      FlexString      `json:"agentLastLoggedInUpn"`
	AgentMitigationMode       FlexString      `json:"agentMitigationMode"`
	AgentDetectionState       FlexString      `json:"agentDetectionState"`
	AccountID                 FlexString      `json:"accountId"`
	AccountName               FlexString      `json:"accountName"`
	SiteID                    FlexString      `json:"siteId"`
	SiteName                  FlexString      `json:"siteName"`
	GroupID                   FlexString      `json:"groupId"`
	GroupName                 FlexString      `json:"groupName"`
	CloudProviders            json.RawMessage `json:"cloudProviders"`
}

type s1MitigationStep struct {
	Action              FlexString      `json:"action"`
	Status              FlexString      `json:"status"`
	ActionsCounters     json.RawMessage `json:"actionsCounters"`
	AgentSupportsReport FlexBool        `json:"agentSupportsReport"`
	GroupNotFound       FlexBool        `json:"groupNotFound"`
	LastUpdate          FlexTime        `json:"lastUpdate"`
	LatestReport        FlexString      `json:"latestReport"`
	ReportID            FlexString      `json:"reportId"`
	MitigationStartedAt FlexTime        `json:"mitigationStartedAt"`
	MitigationEndedAt   FlexTime        `json:"mitigationEndedAt"`
}

type s1Indicator struct {
	Category    FlexString      `json:"category"`
	Description FlexString      `json:"description"`
	IDs         json.RawMessage `json:"ids"`
	Tactics     []s1Tactic      `json:"tactics"`
}

type s1Tactic struct {
	Name       FlexString    `json:"name"`
	Source     FlexString    `json:"source"`
	Techniques []s1Technique `json:"techniques"`
}

type s1Technique struct {
	Name FlexString `json:"name"`
	Link FlexString `json:"link"`
}

// ---- unmapped output (console names; times as RFC 3339; empty values omitted) ----

type threatExtras struct {
	ThreatInfo         *threatInfoExtras     `json:"threatInfo,omitempty"`
	AgentRealtimeInfo  *agentRealtimeExtras  `json:"agentRealtimeInfo,omitempty"`
	AgentDetectionInfo *agentDetectionExtras `json:"agentDetectionInfo,omitempty"`
	MitigationStatus   []mitigationStepOut   `json:"mitigationStatus,omitempty"`
	Indicators         []indicatorOut        `json:"indicators,omitempty"`
	WhiteningOptions   []string              `json:"whiteningOptions,omitempty"`
	ContainerInfo      json.RawMessage       `json:"containerInfo,omitempty"`
	KubernetesInfo     json.RawMessage       `json:"kubernetesInfo,omitempty"`
	EcsInfo            json.RawMessage       `json:"ecsInfo,omitempty"`
}

type threatInfoExtras struct {
	ConfidenceLevel             string          `json:"confidenceLevel,omitempty"`
	AnalystVerdict              string          `json:"analystVerdict,omitempty"`
	AnalystVerdictDescription   string          `json:"analystVerdictDescription,omitempty"`
	IncidentStatus              string          `json:"incidentStatus,omitempty"`
	IncidentStatusDescription   string          `json:"incidentStatusDescription,omitempty"`
	MitigationStatus            string          `json:"mitigationStatus,omitempty"`
	MitigationStatusDescription string          `json:"mitigationStatusDescription,omitempty"`
	ClassificationSource        string          `json:"classificationSource,omitempty"`
	DetectionType               string          `json:"detectionType,omitempty"`
	InitiatedBy                 string          `json:"initiatedBy,omitempty"`
	InitiatedByDescription      string          `json:"initiatedByDescription,omitempty"`
	InitiatingUserID            string          `json:"initiatingUserId,omitempty"`
	InitiatingUsername          string          `json:"initiatingUsername,omitempty"`
	Storyline                   string          `json:"storyline,omitempty"`
	CollectionID                string          `json:"collectionId,omitempty"`
	FileExtensionType           string          `json:"fileExtensionType,omitempty"`
	FileVerificationType        string          `json:"fileVerificationType,omitempty"`
	CertificateID               string          `json:"certificateId,omitempty"`
	IsValidCertificate          *bool           `json:"isValidCertificate,omitempty"`
	PublisherName               string          `json:"publisherName,omitempty"`
	CloudFilesHashVerdict       string          `json:"cloudFilesHashVerdict,omitempty"`
	AutomaticallyResolved       *bool           `json:"automaticallyResolved,omitempty"`
	FailedActions               *bool           `json:"failedActions,omitempty"`
	PendingActions              *bool           `json:"pendingActions,omitempty"`
	RebootRequired              *bool           `json:"rebootRequired,omitempty"`
	ReachedEventsLimit          *bool           `json:"reachedEventsLimit,omitempty"`
	MitigatedPreemptively       *bool           `json:"mitigatedPreemptively,omitempty"`
	IsFileless                  *bool           `json:"isFileless,omitempty"`
	ExternalTicketExists        *bool           `json:"externalTicketExists,omitempty"`
	ExternalTicketID            string          `json:"externalTicketId,omitempty"`
	BrowserType                 string          `json:"browserType,omitempty"`
	RootProcessUpn              string          `json:"rootProcessUpn,omitempty"`
	MacroModules                json.RawMessage `json:"macroModules,omitempty"`
}

type agentRealtimeExtras struct {
	AgentIsActive         *bool           `json:"agentIsActive,omitempty"`
	AgentIsDecommissioned *bool           `json:"agentIsDecommissioned,omitempty"`
	AgentDecommissionedAt json.RawMessage `json:"agentDecommissionedAt,omitempty"`
	AgentInfected         *bool           `json:"agentInfected,omitempty"`
	AgentMitigationMode   string          `json:"agentMitigationMode,omitempty"`
	AgentNetworkStatus    string          `json:"agentNetworkStatus,omitempty"`
	ActiveThreats         *int64          `json:"activeThreats,omitempty"`
	RebootRequired        *bool           `json:"rebootRequired,omitempty"`
	OperationalState      string          `json:"operationalState,omitempty"`
	ScanStatus            string          `json:"scanStatus,omitempty"`
	ScanStartedAt         string          `json:"scanStartedAt,omitempty"`
	ScanFinishedAt        string          `json:"scanFinishedAt,omitempty"`
	ScanAbortedAt         string          `json:"scanAbortedAt,omitempty"`
	StorageName           string          `json:"storageName,omitempty"`
	StorageType           string          `json:"storageType,omitempty"`
	UserActionsNeeded     []string        `json:"userActionsNeeded,omitempty"`
	SiteID                string          `json:"siteId,omitempty"`   // only when there is no account (device.org needs one)
	SiteName              string          `json:"siteName,omitempty"` // idem
}

type agentDetectionExtras struct {
	AgentIPV4                 []string        `json:"agentIpV4,omitempty"`
	AgentIPV6                 []string        `json:"agentIpV6,omitempty"`
	ExternalIP                string          `json:"externalIp,omitempty"`
	AgentRegisteredAt         string          `json:"agentRegisteredAt,omitempty"`
	AgentLastLoggedInUserMail string          `json:"agentLastLoggedInUserMail,omitempty"`
	AgentLastLoggedInUpn      string          `json:"agentLastLoggedInUpn,omitempty"`
	AgentMitigationMode       string          `json:"agentMitigationMode,omitempty"`
	AgentDetectionState       string          `json:"agentDetectionState,omitempty"`
	CloudProviders            json.RawMessage `json:"cloudProviders,omitempty"`
}

type mitigationStepOut struct {
	Action              string          `json:"action,omitempty"`
	Status              string          `json:"status,omitempty"`
	ActionsCounters     json.RawMessage `json:"actionsCounters,omitempty"`
	AgentSupportsReport *bool           `json:"agentSupportsReport,omitempty"`
	GroupNotFound       *bool           `json:"groupNotFound,omitempty"`
	LastUpdate          string          `json:"lastUpdate,omitempty"`
	LatestReport        string          `json:"latestReport,omitempty"`
	ReportID            string          `json:"reportId,omitempty"`
	MitigationStartedAt string          `json:"mitigationStartedAt,omitempty"`
	MitigationEndedAt   string          `json:"mitigationEndedAt,omitempty"`
}

type indicatorOut struct {
	Category    string          `json:"category,omitempty"`
	Description string          `json:"description,omitempty"`
	IDs         json.RawMessage `json:"ids,omitempty"`
	Tactics     []tacticOut     `json:"tactics,omitempty"`
}

type tacticOut struct {
	Name       string         `json:"name,omitempty"`
	Source     string         `json:"source,omitempty"`
	Techniques []techniqueOut `json:"techniques,omitempty"`
}

type techniqueOut struct {
	Name string `json:"name,omitempty"`
	Link string `json:"link,omitempty"`
}

// ---- flat row ----

// ThreatRow is the flat row of one threat: what Praetorian shows for threat detections
// (seeds/003: threat name, status, classification, confidence level, affected endpoint,
// detection time) plus the scope, verdict, file, storyline and MITRE columns the
// connector's routing and reports use.
//
// Types are what database/sql writes directly: string ("" = absent), int64, bool,
// *time.Time (nil = NULL). Lists are comma-separated, de-duplicated, in source order.
type ThreatRow struct {
	ThreatID             string     `db:"threat_id" json:"threatId"`                         // id (== threatInfo.threatId)
	AgentID              string     `db:"agent_id" json:"agentId"`                           // agentRealtimeInfo.agentId
	AgentUUID            string     `db:"agent_uuid" json:"agentUuid"`                       // agentRealtimeInfo / agentDetectionInfo .agentUuid
	AgentComputerName    string     `db:"agent_computer_name" json:"agentComputerName"`      // agentRealtimeInfo.agentComputerName (Praetorian "Affected Endpoint")
	AgentOSType          string     `db:"agent_os_type" json:"agentOsType"`                  // agentRealtimeInfo.agentOsType
	AgentIP              string     `db:"agent_ip" json:"agentIp"`                           // agentDetectionInfo.agentIpV4 (first), else first interface IPv4
	SiteID               string     `db:"site_id" json:"siteId"`                             // agentRealtimeInfo.siteId (else agentDetectionInfo)
	SiteName             string     `db:"site_name" json:"siteName"`                         //
	AccountID            string     `db:"account_id" json:"accountId"`                       //
	AccountName          string     `db:"account_name" json:"accountName"`                   //
	GroupID              string     `db:"group_id" json:"groupId"`                           //
	GroupName            string     `db:"group_name" json:"groupName"`                       //
	ThreatName           string     `db:"threat_name" json:"threatName"`                     // threatInfo.threatName (Praetorian "Threat Name")
	Classification       string     `db:"classification" json:"classification"`              // threatInfo.classification (Praetorian "Classification")
	ClassificationSource string     `db:"classification_source" json:"classificationSource"` // threatInfo.classificationSource
	ConfidenceLevel      string     `db:"confidence_level" json:"confidenceLevel"`           // threatInfo.confidenceLevel (Praetorian "Confidence Level")
	AnalystVerdict       string     `db:"analyst_verdict" json:"analystVerdict"`             // threatInfo.analystVerdict
	IncidentStatus       string     `db:"incident_status" json:"incidentStatus"`             // threatInfo.incidentStatus
	MitigationStatus     string     `db:"mitigation_status" json:"mitigationStatus"`         // threatInfo.mitigationStatus
	Status               string     `db:"status" json:"status"`                              // ThreatStatus: new | in_progress | resolved (Praetorian "Threat Status")
	Resolved             bool       `db:"resolved" json:"resolved"`                          // incidentStatus == resolved (or API 2.0 resolved)
	FilePath             string     `db:"file_path" json:"filePath"`                         // threatInfo.filePath
	FileSHA1             string     `db:"file_sha1" json:"fileSha1"`                         // threatInfo.sha1
	FileSHA256           string     `db:"file_sha256" json:"fileSha256"`                     // threatInfo.sha256
	FileMD5              string     `db:"file_md5" json:"fileMd5"`                           // threatInfo.md5
	FileSize             int64      `db:"file_size" json:"fileSize"`                         // threatInfo.fileSize
	Storyline            string     `db:"storyline" json:"storyline"`                        // threatInfo.storyline
	OriginatorProcess    string     `db:"originator_process" json:"originatorProcess"`       // threatInfo.originatorProcess
	ProcessUser          string     `db:"process_user" json:"processUser"`                   // threatInfo.processUser
	InitiatedBy          string     `db:"initiated_by" json:"initiatedBy"`                   // threatInfo.initiatedBy
	DetectionType        string     `db:"detection_type" json:"detectionType"`               // threatInfo.detectionType
	DetectionEngines     string     `db:"detection_engines" json:"detectionEngines"`         // detectionEngines[].key (title when no key), else engines[]
	MitreTactics         string     `db:"mitre_tactics" json:"mitreTactics"`                 // indicators[].tactics[].name
	MitreTechniques      string     `db:"mitre_techniques" json:"mitreTechniques"`           // indicators[].tactics[].techniques[] ids (T1059, T1059.001) or names
	MitigationActions    string     `db:"mitigation_actions" json:"mitigationActions"`       // mitigationStatus[] as action:status
	FailedActions        bool       `db:"failed_actions" json:"failedActions"`               // threatInfo.failedActions
	PendingActions       bool       `db:"pending_actions" json:"pendingActions"`             // threatInfo.pendingActions
	RebootRequired       bool       `db:"reboot_required" json:"rebootRequired"`             // threatInfo.rebootRequired
	ExternalTicketID     string     `db:"external_ticket_id" json:"externalTicketId"`        // threatInfo.externalTicketId
	CreatedAt            *time.Time `db:"created_at" json:"createdAt"`                       // threatInfo.createdAt
	UpdatedAt            *time.Time `db:"updated_at" json:"updatedAt"`                       // threatInfo.updatedAt
	IdentifiedAt         *time.Time `db:"identified_at" json:"identifiedAt"`                 // threatInfo.identifiedAt (Praetorian "Detection Time")
}

// ThreatRecord is the result of Threat: an OCSF 2004 event and a ThreatRow.
type ThreatRecord = Record[ThreatRow]

var threatColumns = dbColumns(reflect.TypeFor[ThreatRow]())

// ThreatColumns returns the db tag names of ThreatRow in struct order (a copy).
func ThreatColumns() []string { return append([]string(nil), threatColumns...) }

// Values returns the row's values in ThreatColumns order.
func (r *ThreatRow) Values() []any {
	return []any{
		r.ThreatID, r.AgentID, r.AgentUUID, r.AgentComputerName, r.AgentOSType, r.AgentIP, r.SiteID, r.SiteName,
		r.AccountID, r.AccountName, r.GroupID, r.GroupName, r.ThreatName, r.Classification, r.ClassificationSource,
		r.ConfidenceLevel, r.AnalystVerdict, r.IncidentStatus, r.MitigationStatus, r.Status, r.Resolved, r.FilePath,
		r.FileSHA1, r.FileSHA256, r.FileMD5, r.FileSize, r.Storyline, r.OriginatorProcess, r.ProcessUser,
		r.InitiatedBy, r.DetectionType, r.DetectionEngines, r.MitreTactics, r.MitreTechniques, r.MitigationActions,
		r.FailedActions, r.PendingActions, r.RebootRequired, r.ExternalTicketID, r.CreatedAt, r.UpdatedAt,
		r.IdentifiedAt,
	}
}

// ThreatStatus classifies a threat for routing: "resolved" when its incident status is
// resolved (or Resolved is set), "in_progress" when in progress, else "new".
func ThreatStatus(r *ThreatRow) string {
	if r == nil {
		return "new"
	}
	return routingStatus(r.IncidentStatus, r.Resolved)
}

// Threat transforms one /threats item into an OCSF 2004 Detection Finding and a
// ThreatRow. Key is the threat id; UpdatedAt is threatInfo.updatedAt (zero when absent).
// raw is hashed exactly as received. Malformed input yields an error naming the field.
func Threat(raw json.RawMessage, m Meta) (*ThreatRecord, error) {
	var t s1Threat
	if err := m.Decode(raw, &t); err != nil {
		return nil, decodeError("threat", err)
	}
	id := firstNonEmpty(t.ID.String(), t.ThreatInfo.ThreatID.String())
	if id == "" {
		return nil, errors.New(`ocsf: threat: missing required field "id"`)
	}
	hash := HashRaw(raw)
	d := newThreatDerived(&t)
	ev := buildThreatEvent(&t, d, id, hash, m)
	b, err := marshalFinding(ev)
	if err != nil { // unreachable with these types
		return nil, errors.New("ocsf: threat " + id + ": encode event: " + err.Error())
	}
	rec := &ThreatRecord{Key: id, UpdatedAt: t.ThreatInfo.UpdatedAt.Time, Hash: hash, Event: b}
	fillThreatRow(&rec.Flat, &t, d, id)
	return rec, nil
}

// threatDerived holds what the event and the row share.
type threatDerived struct {
	ep         endpointFacts
	resolved   bool
	attacks    []attack
	tactics    []string
	techniques []string
	engines    []s1Engine
}

func newThreatDerived(t *s1Threat) *threatDerived {
	ti, rt, dt := &t.ThreatInfo, &t.AgentRealtimeInfo, &t.AgentDetectionInfo
	d := &threatDerived{}
	d.resolved = normEnum(ti.IncidentStatus.String()) == "resolved" || ti.Resolved.Value
	d.ep = endpointFacts{
		AgentID:      rt.AgentID.String(),
		UUID:         firstNonEmpty(rt.AgentUUID.String(), dt.AgentUUID.String()),
		Hostname:     rt.AgentComputerName.String(),
		Domain:       firstNonEmpty(dt.AgentDomain.String(), rt.AgentDomain.String()),
		IP:           firstIP(dt.AgentIPV4),
		OSName:       firstNonEmpty(dt.AgentOsName.String(), rt.AgentOsName.String()),
		OSType:       rt.AgentOsType.String(),
		OSRevision:   firstNonEmpty(dt.AgentOsRevision.String(), rt.AgentOsRevision.String()),
		MachineType:  rt.AgentMachineType.String(),
		AgentVersion: firstNonEmpty(dt.AgentVersion.String(), rt.AgentVersion.String()),
		Owner:        dt.AgentLastLoggedInUserName.String(),
		Interfaces:   rt.NetworkInterfaces,
	}
	// scope: the realtime block is the agent's current scope; the detection snapshot fills gaps
	if rt.AccountID != "" || rt.AccountName != "" || rt.SiteID != "" || rt.SiteName != "" {
		d.ep.AccountID, d.ep.AccountName, d.ep.SiteID, d.ep.SiteName = rt.AccountID.String(), rt.AccountName.String(), rt.SiteID.String(), rt.SiteName.String()
	} else {
		d.ep.AccountID, d.ep.AccountName, d.ep.SiteID, d.ep.SiteName = dt.AccountID.String(), dt.AccountName.String(), dt.SiteID.String(), dt.SiteName.String()
	}
	d.ep.GroupID = firstNonEmpty(rt.GroupID.String(), dt.GroupID.String())
	d.ep.GroupName = firstNonEmpty(rt.GroupName.String(), dt.GroupName.String())
	if d.ep.IP == "" {
		for _, nif := range rt.NetworkInterfaces {
			if len(nif.Inet) > 0 {
				d.ep.IP = nif.Inet[0]
				break
			}
		}
	}
	if d.ep.IP == "" {
		d.ep.IP = dt.ExternalIP.String()
	}

	seen := map[string]bool{}
	for _, ind := range t.Indicators {
		for _, tac := range ind.Tactics {
			d.tactics = appendUnique(d.tactics, tac.Name.String())
			if len(tac.Techniques) == 0 {
				if a, _, ok := mitreAttack(tac.Name.String(), "", ""); ok && !seen[attackKey(a)] {
					seen[attackKey(a)] = true
					d.attacks = append(d.attacks, a)
				}
				continue
			}
			for _, tech := range tac.Techniques {
				a, label, ok := mitreAttack(tac.Name.String(), tech.Name.String(), tech.Link.String())
				if !ok {
					continue
				}
				d.techniques = appendUnique(d.techniques, label)
				if k := attackKey(a); !seen[k] {
					seen[k] = true
					d.attacks = append(d.attacks, a)
				}
			}
		}
	}
	for _, e := range ti.DetectionEngines {
		if e.Key != "" || e.Title != "" {
			d.engines = append(d.engines, e)
		}
	}
	if len(d.engines) == 0 {
		for _, e := range ti.Engines {
			d.engines = append(d.engines, s1Engine{Title: e})
		}
	}
	return d
}

func buildThreatEvent(t *s1Threat, d *threatDerived, id, hash string, m Meta) *detectionFinding {
	ti := &t.ThreatInfo
	ts := ti.UpdatedAt.Millis()
	if ts == 0 {
		ts = ti.CreatedAt.Millis()
	}
	if ts == 0 && !m.Now.IsZero() {
		ts = m.Now.UnixMilli()
	}
	actID, actName := findingActivity(ti.CreatedAt.Time, ti.UpdatedAt.Time, d.resolved)
	sevID, sev := threatSeverityOf(ti.ConfidenceLevel.String())
	statusID, status := incidentStatusOf(ti.IncidentStatus.String())
	if d.resolved {
		statusID, status = 4, "Resolved"
	}
	md := newMetadata(m, StreamThreats, id, hash, d.ep.AccountID, ti.UpdatedAt.ISO(), threatMapping)
	md.CorrelationUID = ti.Storyline.String()
	ev := newFindingEvent(actID, actName, sevID, sev, statusID, status, ts, md)

	title := firstNonEmpty(ti.ThreatName.String(), ti.Classification.String(), ti.FileDisplayName.String())
	fi := &ev.FindingInfo
	fi.UID = id
	fi.Title = title
	var descs []string
	for _, ind := range t.Indicators {
		descs = appendUnique(descs, ind.Description.String())
	}
	fi.Desc = strings.Join(descs, " ")
	if c := ti.Classification.String(); c != "" {
		fi.Types = []string{c}
	}
	fi.CreatedTime = ti.CreatedAt.Millis()
	fi.ModifiedTime = ti.UpdatedAt.Millis()
	seenAt := ti.IdentifiedAt.Millis()
	if seenAt == 0 {
		seenAt = ti.CreatedAt.Millis()
	}
	fi.FirstSeenTime, fi.LastSeenTime = seenAt, seenAt
	for i, e := range d.engines {
		a := analytic{UID: e.Key, Name: e.Title, Category: ti.ClassificationSource.String()}
		a.TypeID, a.Type = analyticType(e.Key, e.Title)
		if i == 0 {
			if a.TypeID == 0 {
				a.TypeID, a.Type = analyticType(ti.ClassificationSource.String(), ti.DetectionType.String())
			}
			fi.Analytic = &a
		} else {
			fi.RelatedAnalytics = append(fi.RelatedAnalytics, a)
		}
		fi.DataSources = appendUnique(fi.DataSources, firstNonEmpty(e.Title, e.Key))
	}
	if fi.Analytic == nil && ti.ClassificationSource.String() != "" {
		a := analytic{Name: ti.ClassificationSource.String(), Category: ti.ClassificationSource.String()}
		a.TypeID, a.Type = analyticType(ti.ClassificationSource.String(), ti.DetectionType.String())
		fi.Analytic = &a
	}
	fi.Attacks = d.attacks

	ev.ConfidenceID, ev.Confidence = confidenceOf(ti.ConfidenceLevel.String())
	ev.VerdictID, ev.Verdict = verdictOf(ti.AnalystVerdict.String())
	ev.DispositionID, ev.Disposition, ev.ActionID = threatDisposition(ti.MitigationStatus.String(), t.MitigationStatus)
	ev.Action = actionCaptions[ev.ActionID]
	ev.IsAlert = ev.DispositionID != 10 && ev.VerdictID != 1

	ev.Device = d.ep.device()
	if r := d.ep.resource(ev.Device); r != nil {
		ev.Resources = []resourceDetails{*r}
	}
	if host := d.ep.Hostname; host != "" && title != "" {
		ev.Message = title + " on " + host
	} else {
		ev.Message = title
	}

	// file, process and user evidence
	f := newFile(ti.FilePath.String(), firstNonEmpty(ti.FileDisplayName.String(), ti.ThreatName.String()), ti.MD5.String(), ti.SHA1.String(), ti.SHA256.String())
	if f != nil {
		f.Ext = ti.FileExtension.String()
		f.Size = ti.FileSize.Value
	}
	u := splitUser(ti.ProcessUser.String())
	var p *process
	if sl := ti.Storyline.String(); sl != "" {
		p = &process{UID: sl, CmdLine: ti.MaliciousProcessArguments.String(), User: u}
		if f != nil {
			p.Name = f.Name
		}
		if op := ti.OriginatorProcess.String(); op != "" {
			p.Ancestry = []processEntity{{Name: op}}
		}
	}
	if f != nil || p != nil || u != nil {
		e := evidence{Name: "threat", File: f, Process: p}
		if p == nil {
			e.User = u // else it is the process's user
		}
		ev.Evidences = []evidence{e}
	}

	// malware
	if mw := (malware{Name: firstNonEmpty(ti.ThreatName.String(), ti.FileDisplayName.String(), baseName(ti.FilePath.String()), ti.Classification.String()), UID: ti.SHA1.String()}); mw.Name != "" || mw.UID != "" {
		c := ti.Classification.String()
		mw.ClassificationIDs = []int{malwareClassification(c)}
		if c != "" {
			mw.Classifications = []string{c}
		}
		mw.Path = ti.FilePath.String()
		mw.Provider = VendorName
		mw.SeverityID, mw.Severity = sevID, sev
		if mw.SeverityID == 0 {
			mw.Severity = ""
		}
		if f != nil {
			mw.Files = []file{*f}
		}
		ev.Malware = []malware{mw}
	}

	if x := threatUnmapped(t, d); x != nil {
		ev.Unmapped = &detectionUnmapped{SentinelOne: x}
	}
	return ev
}

func threatUnmapped(t *s1Threat, d *threatDerived) *threatExtras {
	ti, rt, dt := &t.ThreatInfo, &t.AgentRealtimeInfo, &t.AgentDetectionInfo
	x := &threatExtras{
		ThreatInfo: &threatInfoExtras{
			ConfidenceLevel:             ti.ConfidenceLevel.String(),
			AnalystVerdict:              ti.AnalystVerdict.String(),
			AnalystVerdictDescription:   ti.AnalystVerdictDescription.String(),
			IncidentStatus:              ti.IncidentStatus.String(),
			IncidentStatusDescription:   ti.IncidentStatusDescription.String(),
			MitigationStatus:            ti.MitigationStatus.String(),
			MitigationStatusDescription: ti.MitigationStatusDescription.String(),
			ClassificationSource:        ti.ClassificationSource.String(),
			DetectionType:               ti.DetectionType.String(),
			InitiatedBy:                 ti.InitiatedBy.String(),
			InitiatedByDescription:      ti.InitiatedByDescription.String(),
			InitiatingUserID:            ti.InitiatingUserID.String(),
			InitiatingUsername:          ti.InitiatingUsername.String(),
			Storyline:                   ti.Storyline.String(),
			CollectionID:                ti.CollectionID.String(),
			FileExtensionType:           ti.FileExtensionType.String(),
			FileVerificationType:        ti.FileVerificationType.String(),
			CertificateID:               ti.CertificateID.String(),
			IsValidCertificate:          ti.IsValidCertificate.Ptr(),
			PublisherName:               ti.PublisherName.String(),
			CloudFilesHashVerdict:       ti.CloudFilesHashVerdict.String(),
			AutomaticallyResolved:       ti.AutomaticallyResolved.Ptr(),
			FailedActions:               ti.FailedActions.Ptr(),
			PendingActions:              ti.PendingActions.Ptr(),
			RebootRequired:              ti.RebootRequired.Ptr(),
			ReachedEventsLimit:          ti.ReachedEventsLimit.Ptr(),
			MitigatedPreemptively:       ti.MitigatedPreemptively.Ptr(),
			IsFileless:                  ti.IsFileless.Ptr(),
			ExternalTicketExists:        ti.ExternalTicketExists.Ptr(),
			ExternalTicketID:            ti.ExternalTicketID.String(),
			BrowserType:                 ti.BrowserType.String(),
			RootProcessUpn:              ti.RootProcessUpn.String(),
			MacroModules:                rawOrNil(ti.MacroModules),
		},
		AgentRealtimeInfo: &agentRealtimeExtras{
			AgentIsActive:         rt.AgentIsActive.Ptr(),
			AgentIsDecommissioned: rt.AgentIsDecommissioned.Ptr(),
			AgentDecommissionedAt: rawOrNil(rt.AgentDecommissionedAt),
			AgentInfected:         rt.AgentInfected.Ptr(),
			AgentMitigationMode:   rt.AgentMitigationMode.String(),
			AgentNetworkStatus:    rt.AgentNetworkStatus.String(),
			ActiveThreats:         rt.ActiveThreats.Ptr(),
			RebootRequired:        rt.RebootRequired.Ptr(),
			OperationalState:      rt.OperationalState.String(),
			ScanStatus:            rt.ScanStatus.String(),
			ScanStartedAt:         rt.ScanStartedAt.ISO(),
			ScanFinishedAt:        rt.ScanFinishedAt.ISO(),
			ScanAbortedAt:         rt.ScanAbortedAt.ISO(),
			StorageName:           rt.StorageName.String(),
			StorageType:           rt.StorageType.String(),
			UserActionsNeeded:     strs(rt.UserActionsNeeded),
		},
		AgentDetectionInfo: &agentDetectionExtras{
			AgentIPV4:                 strs(dt.AgentIPV4),
			AgentIPV6:                 strs(dt.AgentIPV6),
			ExternalIP:                dt.ExternalIP.String(),
			AgentRegisteredAt:         dt.AgentRegisteredAt.ISO(),
			AgentLastLoggedInUserMail: dt.AgentLastLoggedInUserMail.String(),
			AgentLastLoggedInUpn:      dt.AgentLastLoggedInUpn.String(),
			AgentMitigationMode:       dt.AgentMitigationMode.String(),
			AgentDetectionState:       dt.AgentDetectionState.String(),
			CloudProviders:            compactObject(dt.CloudProviders),
		},
		WhiteningOptions: strs(t.WhiteningOptions),
		ContainerInfo:    compactObject(t.ContainerInfo),
		KubernetesInfo:   compactObject(t.KubernetesInfo),
		EcsInfo:          compactObject(t.EcsInfo),
	}
	if d.ep.siteOnly() {
		x.AgentRealtimeInfo.SiteID, x.AgentRealtimeInfo.SiteName = d.ep.SiteID, d.ep.SiteName
	}
	for _, s := range t.MitigationStatus {
		o := mitigationStepOut{
			Action: s.Action.String(), Status: s.Status.String(), ActionsCounters: rawOrNil(s.ActionsCounters),
			AgentSupportsReport: s.AgentSupportsReport.Ptr(), GroupNotFound: s.GroupNotFound.Ptr(),
			LastUpdate: s.LastUpdate.ISO(), LatestReport: s.LatestReport.String(), ReportID: s.ReportID.String(),
			MitigationStartedAt: s.MitigationStartedAt.ISO(), MitigationEndedAt: s.MitigationEndedAt.ISO(),
		}
		if !reflect.ValueOf(o).IsZero() {
			x.MitigationStatus = append(x.MitigationStatus, o)
		}
	}
	for _, ind := range t.Indicators {
		o := indicatorOut{Category: ind.Category.String(), Description: ind.Description.String(), IDs: rawOrNil(ind.IDs)}
		for _, tac := range ind.Tactics {
			to := tacticOut{Name: tac.Name.String(), Source: tac.Source.String()}
			for _, te := range tac.Techniques {
				if te := (techniqueOut{Name: te.Name.String(), Link: te.Link.String()}); te != (techniqueOut{}) {
					to.Techniques = append(to.Techniques, te)
				}
			}
			if to.Name != "" || to.Source != "" || len(to.Techniques) > 0 {
				o.Tactics = append(o.Tactics, to)
			}
		}
		if o.Category != "" || o.Description != "" || o.IDs != nil || len(o.Tactics) > 0 {
			x.Indicators = append(x.Indicators, o)
		}
	}
	if reflect.ValueOf(x.ThreatInfo).Elem().IsZero() {
		x.ThreatInfo = nil
	}
	if reflect.ValueOf(x.AgentRealtimeInfo).Elem().IsZero() {
		x.AgentRealtimeInfo = nil
	}
	if reflect.ValueOf(x.AgentDetectionInfo).Elem().IsZero() {
		x.AgentDetectionInfo = nil
	}
	if reflect.ValueOf(x).Elem().IsZero() {
		return nil
	}
	return x
}

func fillThreatRow(r *ThreatRow, t *s1Threat, d *threatDerived, id string) {
	ti, rt := &t.ThreatInfo, &t.AgentRealtimeInfo
	var engines, actions []string
	for _, e := range d.engines {
		engines = appendUnique(engines, strings.ReplaceAll(firstNonEmpty(e.Key, e.Title), ",", ";"))
	}
	for _, s := range t.MitigationStatus {
		a := s.Action.String()
		if a == "" {
			continue
		}
		if st := s.Status.String(); st != "" {
			a += ":" + st
		}
		actions = appendUnique(actions, strings.ReplaceAll(a, ",", ";"))
	}
	clean := func(l []string) string {
		out := make([]string, 0, len(l))
		for _, v := range l {
			out = appendUnique(out, strings.ReplaceAll(v, ",", ";"))
		}
		return strings.Join(out, ",")
	}
	*r = ThreatRow{
		ThreatID:             id,
		AgentID:              d.ep.AgentID,
		AgentUUID:            d.ep.UUID,
		AgentComputerName:    d.ep.Hostname,
		AgentOSType:          rt.AgentOsType.String(),
		AgentIP:              d.ep.IP,
		SiteID:               d.ep.SiteID,
		SiteName:             d.ep.SiteName,
		AccountID:            d.ep.AccountID,
		AccountName:          d.ep.AccountName,
		GroupID:              d.ep.GroupID,
		GroupName:            d.ep.GroupName,
		ThreatName:           ti.ThreatName.String(),
		Classification:       ti.Classification.String(),
		ClassificationSource: ti.ClassificationSource.String(),
		ConfidenceLevel:      ti.ConfidenceLevel.String(),
		AnalystVerdict:       ti.AnalystVerdict.String(),
		IncidentStatus:       ti.IncidentStatus.String(),
		MitigationStatus:     ti.MitigationStatus.String(),
		Resolved:             d.resolved,
		FilePath:             ti.FilePath.String(),
		FileSHA1:             ti.SHA1.String(),
		FileSHA256:           ti.SHA256.String(),
		FileMD5:              ti.MD5.String(),
		FileSize:             ti.FileSize.Value,
		Storyline:            ti.Storyline.String(),
		OriginatorProcess:    ti.OriginatorProcess.String(),
		ProcessUser:          ti.ProcessUser.String(),
		InitiatedBy:          ti.InitiatedBy.String(),
		DetectionType:        ti.DetectionType.String(),
		DetectionEngines:     strings.Join(engines, ","),
		MitreTactics:         clean(d.tactics),
		MitreTechniques:      clean(d.techniques),
		MitigationActions:    strings.Join(actions, ","),
		FailedActions:        ti.FailedActions.Value,
		PendingActions:       ti.PendingActions.Value,
		RebootRequired:       ti.RebootRequired.Value,
		ExternalTicketID:     ti.ExternalTicketID.String(),
		CreatedAt:            ti.CreatedAt.Ptr(),
		UpdatedAt:            ti.UpdatedAt.Ptr(),
		IdentifiedAt:         ti.IdentifiedAt.Ptr(),
	}
	r.Status = ThreatStatus(r)
}
