package ocsf

import (
	"encoding/json"
	"errors"
	"reflect"
	"time"
)

// StreamAlerts is the stream / log name of STAR / custom-rule alert records.
const StreamAlerts = "alerts"

const alertMapping = "SentinelOne STAR alert to OCSF 1.6.0 Detection Finding"

// s1Alert is the /web/api/v2.1/cloud-detection/alerts item (reference §8.2). It has no
// top-level id or timestamps: the key is alertInfo.alertId and the times live under
// alertInfo.
type s1Alert struct {
	AlertInfo               s1AlertInfo     `json:"alertInfo"`
	RuleInfo                s1RuleInfo      `json:"ruleInfo"`
	AgentDetectionInfo      s1AlertAgent    `json:"agentDetectionInfo"`
	AgentRealtimeInfo       s1AlertRealtime `json:"agentRealtimeInfo"`
	SourceProcessInfo       s1SourceProcess `json:"sourceProcessInfo"`
	SourceParentProcessInfo s1SourceProcess `json:"sourceParentProcessInfo"`
	TargetProcessInfo       s1TargetProcess `json:"targetProcessInfo"`
	ContainerInfo           json.RawMessage `json:"containerInfo"`
	KubernetesInfo          json.RawMessage `json:"kubernetesInfo"`
}

type s1AlertInfo struct {
	AlertID                        FlexString `json:"alertId"`
	CreatedAt                      FlexTime   `json:"createdAt"`
	ReportedAt                     FlexTime   `json:"reportedAt"`
	UpdatedAt                      FlexTime   `json:"updatedAt"`
	IncidentStatus                 FlexString `json:"incidentStatus"`
	AnalystVerdict                 FlexString `json:"analystVerdict"`
	HitType                        FlexString `json:"hitType"`
	EventType                      FlexString `json:"eventType"`
	Source                         FlexString `json:"source"`
	IsEdr                          FlexBool   `json:"isEdr"`
	DvEventID                      FlexString `json:"dvEventId"`
	SrcIP                          FlexString `json:"srcIp"`
	SrcPort                        FlexInt    `json:"srcPort"`
	DstIP                          FlexString `json:"dstIp"`
	DstPort                        FlexInt    `json:"dstPort"`
	SrcMachineIP                   FlexString `json:"srcMachineIp"`
	NetEventDirection              FlexString `json:"netEventDirection"`
	DNSRequest                     FlexString `json:"dnsRequest"`
	DNSResponse                    FlexString `json:"dnsResponse"`
	LoginType                      FlexString `json:"loginType"`
	LoginsUserName                 FlexString `json:"loginsUserName"`
	LoginIsSuccessful              FlexBool   `json:"loginIsSuccessful"`
	LoginIsAdministratorEquivalent FlexBool   `json:"loginIsAdministratorEquivalent"`
	LoginAccountDomain             FlexString `json:"loginAccountDomain"`
	LoginAccountSid                FlexString `json:"loginAccountSid"`
	RegistryKeyPath                FlexString `json:"registryKeyPath"`
	RegistryPath                   FlexString `json:"registryPath"`
	RegistryValue                  FlexString `json:"registryValue"`
	RegistryOldValue               FlexString `json:"registryOldValue"`
	RegistryOldValueType           FlexString `json:"registryOldValueType"`
	ModulePath                     FlexString `json:"modulePath"`
	ModuleSha1                     FlexString `json:"moduleSha1"`
	IndicatorName                  FlexString `json:"indicatorName"`
	IndicatorCategory              FlexString `json:"indicatorCategory"`
	IndicatorDescription           FlexString `json:"indicatorDescription"`
	TiIndicatorType                FlexString `json:"tiIndicatorType"`
	TiIndicatorValue               FlexString `json:"tiIndicatorValue"`
	TiIndicatorSource              FlexString `json:"tiIndicatorSource"`
	TiIndicatorComparisonMethod    FlexString `json:"tiIndicatorComparisonMethod"`
}

type s1RuleInfo struct {
	ID            FlexString `json:"id"`
	Name          FlexString `json:"name"`
	Description   FlexString `json:"description"`
	S1QL          FlexString `json:"s1ql"`
	Severity      FlexString `json:"severity"`
	ScopeLevel    FlexString `json:"scopeLevel"`
	TreatAsThreat FlexString `json:"treatAsThreat"`
	QueryLang     FlexString `json:"queryLang"`
	QueryType     FlexString `json:"queryType"`
}

type s1AlertAgent struct {
	Name        FlexString `json:"name"`
	UUID        FlexString `json:"uuid"`
	Version     FlexString `json:"version"`
	OSFamily    FlexString `json:"osFamily"`
	OSName      FlexString `json:"osName"`
	OSRevision  FlexString `json:"osRevision"`
	MachineType FlexString `json:"machineType"`
	SiteID      FlexString `json:"siteId"`
	AccountID   FlexString `json:"accountId"`
}

type s1AlertRealtime struct {
	ID               FlexString `json:"id"`
	Name             FlexString `json:"name"`
	UUID             FlexString `json:"uuid"`
	OS               FlexString `json:"os"`
	MachineType      FlexString `json:"machineType"`
	Infected         FlexBool   `json:"infected"`
	IsActive         FlexBool   `json:"isActive"`
	IsDecommissioned FlexBool   `json:"isDecommissioned"`
}

type s1SourceProcess struct {
	Name               FlexString `json:"name"`
	PID                FlexInt    `json:"pid"`
	PIDStarttime       FlexTime   `json:"pidStarttime"`
	Commandline        FlexString `json:"commandline"`
	FilePath           FlexString `json:"filePath"`
	FileHashMd5        FlexString `json:"fileHashMd5"`
	FileHashSha1       FlexString `json:"fileHashSha1"`
	FileHashSha256     FlexString `json:"fileHashSha256"`
	FileSignerIdentity FlexString `json:"fileSignerIdentity"`
	Storyline          FlexString `json:"storyline"`
	UniqueID           FlexString `json:"uniqueId"`
	User               FlexString `json:"user"`
	EffectiveUser      FlexString `json:"effectiveUser"`
	RealUser           FlexString `json:"realUser"`
	LoginUser          FlexString `json:"loginUser"`
	IntegrityLevel     FlexString `json:"integrityLevel"`
	Subsystem          FlexString `json:"subsystem"`
}

type s1TargetProcess struct {
	TgtProcName           FlexString `json:"tgtProcName"`
	TgtProcPid            FlexInt    `json:"tgtProcPid"`
	TgtProcUID            FlexString `json:"tgtProcUid"`
	TgtProcCmdLine        FlexString `json:"tgtProcCmdLine"`
	TgtProcImagePath      FlexString `json:"tgtProcImagePath"`
	TgtProcStorylineID    FlexString `json:"tgtProcStorylineId"`
	TgtProcIntegrityLevel FlexString `json:"tgtProcIntegrityLevel"`
	TgtProcSignedStatus   FlexString `json:"tgtProcSignedStatus"`
	TgtProcessStartTime   FlexTime   `json:"tgtProcessStartTime"`
	TgtFileID             FlexString `json:"tgtFileId"`
	TgtFilePath           FlexString `json:"tgtFilePath"`
	TgtFileOldPath        FlexString `json:"tgtFileOldPath"`
	TgtFileHashSha1       FlexString `json:"tgtFileHashSha1"`
	TgtFileHashSha256     FlexString `json:"tgtFileHashSha256"`
	TgtFileIsSigned       FlexString `json:"tgtFileIsSigned"` // "signed"/"unsigned" or a boolean
	TgtFileCreatedAt      FlexTime   `json:"tgtFileCreatedAt"`
	TgtFileModifiedAt     FlexTime   `json:"tgtFileModifiedAt"`
}

// ---- unmapped output ----

type alertExtras struct {
	AlertInfo               *alertInfoExtras     `json:"alertInfo,omitempty"`
	RuleInfo                *ruleInfoExtras      `json:"ruleInfo,omitempty"`
	AgentDetectionInfo      *alertAgentExtras    `json:"agentDetectionInfo,omitempty"`
	AgentRealtimeInfo       *alertRealtimeExtras `json:"agentRealtimeInfo,omitempty"`
	SourceProcessInfo       *processExtras       `json:"sourceProcessInfo,omitempty"`
	SourceParentProcessInfo *processExtras       `json:"sourceParentProcessInfo,omitempty"`
	TargetProcessInfo       *targetExtras        `json:"targetProcessInfo,omitempty"`
	ContainerInfo           json.RawMessage      `json:"containerInfo,omitempty"`
	KubernetesInfo          json.RawMessage      `json:"kubernetesInfo,omitempty"`
}

type alertInfoExtras struct {
	IncidentStatus                 string `json:"incidentStatus,omitempty"`
	AnalystVerdict                 string `json:"analystVerdict,omitempty"`
	ReportedAt                     string `json:"reportedAt,omitempty"`
	HitType                        string `json:"hitType,omitempty"`
	EventType                      string `json:"eventType,omitempty"`
	Source                         string `json:"source,omitempty"`
	IsEdr                          *bool  `json:"isEdr,omitempty"`
	DvEventID                      string `json:"dvEventId,omitempty"`
	SrcMachineIP                   string `json:"srcMachineIp,omitempty"`
	NetEventDirection              string `json:"netEventDirection,omitempty"`
	DNSResponse                    string `json:"dnsResponse,omitempty"`
	LoginType                      string `json:"loginType,omitempty"`
	LoginIsSuccessful              *bool  `json:"loginIsSuccessful,omitempty"`
	LoginIsAdministratorEquivalent *bool  `json:"loginIsAdministratorEquivalent,omitempty"`
	RegistryKeyPath                string `json:"registryKeyPath,omitempty"`
	RegistryPath                   string `json:"registryPath,omitempty"`
	RegistryValue                  string `json:"registryValue,omitempty"`
	RegistryOldValue               string `json:"registryOldValue,omitempty"`
	RegistryOldValueType           string `json:"registryOldValueType,omitempty"`
	ModulePath                     string `json:"modulePath,omitempty"`
	ModuleSha1                     string `json:"moduleSha1,omitempty"`
	IndicatorName                  string `json:"indicatorName,omitempty"`
	IndicatorCategory              string `json:"indicatorCategory,omitempty"`
	IndicatorDescription           string `json:"indicatorDescription,omitempty"`
	TiIndicatorType                string `json:"tiIndicatorType,omitempty"`
	TiIndicatorValue               string `json:"tiIndicatorValue,omitempty"`
	TiIndicatorSource              string `json:"tiIndicatorSource,omitempty"`
	TiIndicatorComparisonMethod    string `json:"tiIndicatorComparisonMethod,omitempty"`
}

type ruleInfoExtras struct {
	Severity      string `json:"severity,omitempty"`
	S1QL          string `json:"s1ql,omitempty"`
	ScopeLevel    string `json:"scopeLevel,omitempty"`
	TreatAsThreat string `json:"treatAsThreat,omitempty"`
	QueryLang     string `json:"queryLang,omitempty"`
	QueryType     string `json:"queryType,omitempty"`
}

type alertAgentExtras struct {
	OSFamily string `json:"osFamily,omitempty"`
	SiteID   string `json:"siteId,omitempty"` // only when there is no account (device.org needs one)
}

type alertRealtimeExtras struct {
	Name             string `json:"name,omitempty"` // only when it differs from agentDetectionInfo.name
	OS               string `json:"os,omitempty"`
	Infected         *bool  `json:"infected,omitempty"`
	IsActive         *bool  `json:"isActive,omitempty"`
	IsDecommissioned *bool  `json:"isDecommissioned,omitempty"`
}

type processExtras struct {
	Storyline          string `json:"storyline,omitempty"`
	FileSignerIdentity string `json:"fileSignerIdentity,omitempty"`
	EffectiveUser      string `json:"effectiveUser,omitempty"`
	RealUser           string `json:"realUser,omitempty"`
	LoginUser          string `json:"loginUser,omitempty"`
	Subsystem          string `json:"subsystem,omitempty"`
}

type targetExtras struct {
	TgtProcStorylineID  string `json:"tgtProcStorylineId,omitempty"`
	TgtProcSignedStatus string `json:"tgtProcSignedStatus,omitempty"`
	TgtFileOldPath      string `json:"tgtFileOldPath,omitempty"`
	TgtFileIsSigned     string `json:"tgtFileIsSigned,omitempty"`
}

// ---- flat row ----

// AlertRow is the flat row of one STAR / custom-rule alert. Types are what database/sql
// writes directly: string ("" = absent), int64, *time.Time (nil = NULL).
type AlertRow struct {
	AlertID                string     `db:"alert_id" json:"alertId"`                                // alertInfo.alertId
	RuleID                 string     `db:"rule_id" json:"ruleId"`                                  // ruleInfo.id
	RuleName               string     `db:"rule_name" json:"ruleName"`                              // ruleInfo.name
	RuleSeverity           string     `db:"rule_severity" json:"ruleSeverity"`                      // ruleInfo.severity (Low/Medium/High/Critical)
	RuleDescription        string     `db:"rule_description" json:"ruleDescription"`                // ruleInfo.description
	RuleTreatAsThreat      string     `db:"rule_treat_as_threat" json:"ruleTreatAsThreat"`          // ruleInfo.treatAsThreat
	RuleScopeLevel         string     `db:"rule_scope_level" json:"ruleScopeLevel"`                 // ruleInfo.scopeLevel
	IncidentStatus         string     `db:"incident_status" json:"incidentStatus"`                  // alertInfo.incidentStatus
	AnalystVerdict         string     `db:"analyst_verdict" json:"analystVerdict"`                  // alertInfo.analystVerdict
	Status                 string     `db:"status" json:"status"`                                   // AlertStatus: new | in_progress | resolved
	AgentID                string     `db:"agent_id" json:"agentId"`                                // agentRealtimeInfo.id
	AgentUUID              string     `db:"agent_uuid" json:"agentUuid"`                            // agentDetectionInfo.uuid (else agentRealtimeInfo.uuid)
	AgentName              string     `db:"agent_name" json:"agentName"`                            // agentDetectionInfo.name (else agentRealtimeInfo.name)
	AgentOSName            string     `db:"agent_os_name" json:"agentOsName"`                       // agentDetectionInfo.osName
	AgentMachineType       string     `db:"agent_machine_type" json:"agentMachineType"`             // agentDetectionInfo.machineType
	SiteID                 string     `db:"site_id" json:"siteId"`                                  // agentDetectionInfo.siteId
	AccountID              string     `db:"account_id" json:"accountId"`                            // agentDetectionInfo.accountId
	Source                 string     `db:"source" json:"source"`                                   // alertInfo.source (STAR, …)
	SourceProcessName      string     `db:"source_process_name" json:"sourceProcessName"`           // sourceProcessInfo.name
	SourceProcessPID       int64      `db:"source_process_pid" json:"sourceProcessPid"`             // sourceProcessInfo.pid
	SourceProcessCmdline   string     `db:"source_process_cmdline" json:"sourceProcessCmdline"`     // sourceProcessInfo.commandline
	SourceProcessFilePath  string     `db:"source_process_file_path" json:"sourceProcessFilePath"`  // sourceProcessInfo.filePath
	SourceProcessSHA1      string     `db:"source_process_sha1" json:"sourceProcessSha1"`           // sourceProcessInfo.fileHashSha1
	SourceProcessSHA256    string     `db:"source_process_sha256" json:"sourceProcessSha256"`       // sourceProcessInfo.fileHashSha256
	SourceProcessUser      string     `db:"source_process_user" json:"sourceProcessUser"`           // sourceProcessInfo.user
	SourceProcessStoryline string     `db:"source_process_storyline" json:"sourceProcessStoryline"` // sourceProcessInfo.storyline
	TargetProcessName      string     `db:"target_process_name" json:"targetProcessName"`           // targetProcessInfo.tgtProcName
	TargetProcessCmdline   string     `db:"target_process_cmdline" json:"targetProcessCmdline"`     // targetProcessInfo.tgtProcCmdLine
	TargetFilePath         string     `db:"target_file_path" json:"targetFilePath"`                 // targetProcessInfo.tgtFilePath
	TargetFileSHA1         string     `db:"target_file_sha1" json:"targetFileSha1"`                 // targetProcessInfo.tgtFileHashSha1
	TargetFileSHA256       string     `db:"target_file_sha256" json:"targetFileSha256"`             // targetProcessInfo.tgtFileHashSha256
	EventType              string     `db:"event_type" json:"eventType"`                            // alertInfo.eventType
	HitType                string     `db:"hit_type" json:"hitType"`                                // alertInfo.hitType
	DvEventID              string     `db:"dv_event_id" json:"dvEventId"`                           // alertInfo.dvEventId
	CreatedAt              *time.Time `db:"created_at" json:"createdAt"`                            // alertInfo.createdAt
	ReportedAt             *time.Time `db:"reported_at" json:"reportedAt"`                          // alertInfo.reportedAt
	UpdatedAt              *time.Time `db:"updated_at" json:"updatedAt"`                            // alertInfo.updatedAt
}

// AlertRecord is the result of Alert: an OCSF 2004 event and an AlertRow.
type AlertRecord = Record[AlertRow]

var alertColumns = dbColumns(reflect.TypeFor[AlertRow]())

// AlertColumns returns the db tag names of AlertRow in struct order (a copy).
func AlertColumns() []string { return append([]string(nil), alertColumns...) }

// Values returns the row's values in AlertColumns order.
func (r *AlertRow) Values() []any {
	return []any{
		r.AlertID, r.RuleID, r.RuleName, r.RuleSeverity, r.RuleDescription, r.RuleTreatAsThreat, r.RuleScopeLevel,
		r.IncidentStatus, r.AnalystVerdict, r.Status, r.AgentID, r.AgentUUID, r.AgentName, r.AgentOSName,
		r.AgentMachineType, r.SiteID, r.AccountID, r.Source, r.SourceProcessName, r.SourceProcessPID,
		r.SourceProcessCmdline, r.SourceProcessFilePath, r.SourceProcessSHA1, r.SourceProcessSHA256,
		r.SourceProcessUser, r.SourceProcessStoryline, r.TargetProcessName, r.TargetProcessCmdline,
		r.TargetFilePath, r.TargetFileSHA1, r.TargetFileSHA256, r.EventType, r.HitType, r.DvEventID,
		r.CreatedAt, r.ReportedAt, r.UpdatedAt,
	}
}

// AlertStatus classifies an alert for routing like ThreatStatus: "resolved",
// "in_progress" or "new".
func AlertStatus(r *AlertRow) string {
	if r == nil {
		return "new"
	}
	return routingStatus(r.IncidentStatus, false)
}

// alertUpdatedAt is the delta watermark: alertInfo.updatedAt, else reportedAt, else createdAt.
func alertUpdatedAt(ai *s1AlertInfo) time.Time {
	for _, t := range []FlexTime{ai.UpdatedAt, ai.ReportedAt, ai.CreatedAt} {
		if !t.IsZero() {
			return t.Time
		}
	}
	return time.Time{}
}

// Alert transforms one /cloud-detection/alerts item into an OCSF 2004 Detection Finding
// and an AlertRow. Key is alertInfo.alertId; UpdatedAt is alertInfo.updatedAt, else
// reportedAt, else createdAt. raw is hashed exactly as received.
func Alert(raw json.RawMessage, m Meta) (*AlertRecord, error) {
	var a s1Alert
	if err := m.Decode(raw, &a); err != nil {
		return nil, decodeError("alert", err)
	}
	id := a.AlertInfo.AlertID.String()
	if id == "" {
		return nil, errors.New(`ocsf: alert: missing required field "alertInfo.alertId"`)
	}
	hash := HashRaw(raw)
	ep := alertEndpoint(&a)
	ev := buildAlertEvent(&a, ep, id, hash, m)
	b, err := marshalFinding(ev)
	if err != nil { // unreachable with these types
		return nil, errors.New("ocsf: alert " + id + ": encode event: " + err.Error())
	}
	rec := &AlertRecord{Key: id, UpdatedAt: alertUpdatedAt(&a.AlertInfo), Hash: hash, Event: b}
	fillAlertRow(&rec.Flat, &a, ep, id)
	return rec, nil
}

func alertEndpoint(a *s1Alert) *endpointFacts {
	ad, ar := &a.AgentDetectionInfo, &a.AgentRealtimeInfo
	return &endpointFacts{
		AgentID:      ar.ID.String(),
		UUID:         firstNonEmpty(ad.UUID.String(), ar.UUID.String()),
		Hostname:     firstNonEmpty(ad.Name.String(), ar.Name.String()),
		IP:           a.AlertInfo.SrcMachineIP.String(),
		OSName:       ad.OSName.String(),
		OSType:       firstNonEmpty(ad.OSFamily.String(), ar.OS.String()),
		OSRevision:   ad.OSRevision.String(),
		MachineType:  firstNonEmpty(ad.MachineType.String(), ar.MachineType.String()),
		AgentVersion: ad.Version.String(),
		AccountID:    ad.AccountID.String(),
		SiteID:       ad.SiteID.String(),
	}
}

// sourceProcess builds an OCSF process from sourceProcessInfo / sourceParentProcessInfo;
// nil without a pid or uniqueId (the schema needs one).
func sourceProcess(p *s1SourceProcess) *process {
	if !p.PID.Valid && p.UniqueID.String() == "" {
		return nil
	}
	out := &process{
		PID:         p.PID.Value,
		UID:         p.UniqueID.String(),
		Name:        firstNonEmpty(p.Name.String(), baseName(p.FilePath.String())),
		Path:        p.FilePath.String(),
		CmdLine:     p.Commandline.String(),
		CreatedTime: plausible(p.PIDStarttime).Millis(),
		File:        newFile(p.FilePath.String(), p.Name.String(), p.FileHashMd5.String(), p.FileHashSha1.String(), p.FileHashSha256.String()),
		User:        splitUser(p.User.String()),
	}
	if out.PID == 0 && out.UID == "" {
		return nil
	}
	out.IntegrityID, out.Integrity = integrityOf(p.IntegrityLevel.String())
	return out
}

func buildAlertEvent(a *s1Alert, ep *endpointFacts, id, hash string, m Meta) *detectionFinding {
	ai, ri := &a.AlertInfo, &a.RuleInfo
	ts := int64(0)
	for _, t := range []FlexTime{ai.CreatedAt, ai.ReportedAt, ai.UpdatedAt} {
		if ts = t.Millis(); ts != 0 {
			break
		}
	}
	if ts == 0 && !m.Now.IsZero() {
		ts = m.Now.UnixMilli()
	}
	created := ai.ReportedAt.Time
	if created.IsZero() {
		created = ai.CreatedAt.Time
	}
	statusID, status := incidentStatusOf(ai.IncidentStatus.String())
	actID, actName := findingActivity(created, ai.UpdatedAt.Time, statusID == 4)
	sevID, sev := ruleSeverityOf(ri.Severity.String())
	md := newMetadata(m, StreamAlerts, id, hash, ep.AccountID, ai.CreatedAt.ISO(), alertMapping)
	md.CorrelationUID = a.SourceProcessInfo.Storyline.String()
	ev := newFindingEvent(actID, actName, sevID, sev, statusID, status, ts, md)

	fi := &ev.FindingInfo
	fi.UID = id
	fi.Title = firstNonEmpty(ri.Name.String(), ai.IndicatorName.String(), ai.EventType.String())
	fi.Desc = firstNonEmpty(ri.Description.String(), ai.IndicatorDescription.String())
	if qt := ri.QueryType.String(); qt != "" {
		fi.Types = []string{"STAR " + qt}
	}
	fi.CreatedTime = ai.CreatedAt.Millis()
	if u := alertUpdatedAt(ai); !u.IsZero() {
		fi.ModifiedTime = u.UnixMilli()
	}
	fi.FirstSeenTime, fi.LastSeenTime = ai.CreatedAt.Millis(), ai.CreatedAt.Millis()
	if ri.ID.String() != "" || ri.Name.String() != "" {
		fi.Analytic = &analytic{
			UID: ri.ID.String(), Name: ri.Name.String(), TypeID: 1, Type: "Rule",
			Desc: ri.Description.String(), Category: ri.QueryType.String(), Version: ri.QueryLang.String(),
		}
	}
	fi.DataSources = appendUnique(nil, ai.Source.String())
	if dv := ai.DvEventID.String(); dv != "" {
		fi.RelatedEvents = []relatedEvent{{UID: dv, Type: ai.EventType.String()}}
	}

	ev.ConfidenceID, ev.Confidence = confidenceOf(ri.TreatAsThreat.String())
	ev.VerdictID, ev.Verdict = verdictOf(ai.AnalystVerdict.String())
	ev.DispositionID, ev.Disposition, ev.ActionID = 19, "Alert", actionAllowed
	ev.Action = actionCaptions[ev.ActionID]
	ev.IsAlert = ev.VerdictID != 1

	ev.Device = ep.device()
	if r := ep.resource(ev.Device); r != nil {
		ev.Resources = []resourceDetails{*r}
	}
	if ep.Hostname != "" && fi.Title != "" {
		ev.Message = fi.Title + " on " + ep.Hostname
	} else {
		ev.Message = fi.Title
	}

	// evidences
	if p := sourceProcess(&a.SourceProcessInfo); p != nil {
		p.ParentProcess = sourceProcess(&a.SourceParentProcessInfo)
		if p.ParentProcess == nil {
			if pe := (processEntity{Name: a.SourceParentProcessInfo.Name.String(), Path: a.SourceParentProcessInfo.FilePath.String()}); pe != (processEntity{}) {
				p.Ancestry = []processEntity{pe}
			}
		}
		ev.Evidences = append(ev.Evidences, evidence{Name: "source_process", Process: p})
	} else if f := newFile(a.SourceProcessInfo.FilePath.String(), a.SourceProcessInfo.Name.String(), a.SourceProcessInfo.FileHashMd5.String(), a.SourceProcessInfo.FileHashSha1.String(), a.SourceProcessInfo.FileHashSha256.String()); f != nil {
		ev.Evidences = append(ev.Evidences, evidence{Name: "source_process_file", File: f, User: splitUser(a.SourceProcessInfo.User.String())})
	}
	tp := &a.TargetProcessInfo
	if tp.TgtProcPid.Valid || tp.TgtProcUID.String() != "" {
		p := &process{
			PID: tp.TgtProcPid.Value, UID: tp.TgtProcUID.String(),
			Name:        firstNonEmpty(tp.TgtProcName.String(), baseName(tp.TgtProcImagePath.String())),
			Path:        tp.TgtProcImagePath.String(),
			CmdLine:     tp.TgtProcCmdLine.String(),
			CreatedTime: plausible(tp.TgtProcessStartTime).Millis(),
		}
		p.IntegrityID, p.Integrity = integrityOf(tp.TgtProcIntegrityLevel.String())
		if p.PID != 0 || p.UID != "" {
			ev.Evidences = append(ev.Evidences, evidence{Name: "target_process", Process: p})
		}
	}
	if f := newFile(tp.TgtFilePath.String(), "", "", tp.TgtFileHashSha1.String(), tp.TgtFileHashSha256.String()); f != nil {
		f.UID = tp.TgtFileID.String()
		f.CreatedTime = plausible(tp.TgtFileCreatedAt).Millis()
		f.ModifiedTime = plausible(tp.TgtFileModifiedAt).Millis()
		ev.Evidences = append(ev.Evidences, evidence{Name: "target_file", File: f})
	}
	if src, dst := ai.SrcIP.String(), ai.DstIP.String(); src != "" || dst != "" {
		e := evidence{Name: "network"}
		if src != "" {
			e.SrcEndpoint = &networkEndpoint{IP: src, Port: ai.SrcPort.Value}
		}
		if dst != "" {
			e.DstEndpoint = &networkEndpoint{IP: dst, Port: ai.DstPort.Value}
		}
		ev.Evidences = append(ev.Evidences, e)
	}
	if q := ai.DNSRequest.String(); q != "" {
		ev.Evidences = append(ev.Evidences, evidence{Name: "dns", Query: &dnsQuery{Hostname: q}})
	}
	if u := splitUser(ai.LoginsUserName.String()); u != nil {
		if d := ai.LoginAccountDomain.String(); d != "" {
			u.Domain = d
		}
		u.UID = ai.LoginAccountSid.String()
		ev.Evidences = append(ev.Evidences, evidence{Name: "login", User: u})
	}

	if x := alertUnmapped(a, ep); x != nil {
		ev.Unmapped = &detectionUnmapped{SentinelOne: x}
	}
	return ev
}

func alertUnmapped(a *s1Alert, ep *endpointFacts) *alertExtras {
	ai, ri, ar := &a.AlertInfo, &a.RuleInfo, &a.AgentRealtimeInfo
	x := &alertExtras{
		AlertInfo: &alertInfoExtras{
			IncidentStatus:                 ai.IncidentStatus.String(),
			AnalystVerdict:                 ai.AnalystVerdict.String(),
			ReportedAt:                     ai.ReportedAt.ISO(),
			HitType:                        ai.HitType.String(),
			EventType:                      ai.EventType.String(),
			Source:                         ai.Source.String(),
			IsEdr:                          ai.IsEdr.Ptr(),
			DvEventID:                      ai.DvEventID.String(),
			SrcMachineIP:                   ai.SrcMachineIP.String(),
			NetEventDirection:              ai.NetEventDirection.String(),
			DNSResponse:                    ai.DNSResponse.String(),
			LoginType:                      ai.LoginType.String(),
			LoginIsSuccessful:              ai.LoginIsSuccessful.Ptr(),
			LoginIsAdministratorEquivalent: ai.LoginIsAdministratorEquivalent.Ptr(),
			RegistryKeyPath:                ai.RegistryKeyPath.String(),
			RegistryPath:                   ai.RegistryPath.String(),
			RegistryValue:                  ai.RegistryValue.String(),
			RegistryOldValue:               ai.RegistryOldValue.String(),
			RegistryOldValueType:           ai.RegistryOldValueType.String(),
			ModulePath:                     ai.ModulePath.String(),
			ModuleSha1:                     ai.ModuleSha1.String(),
			IndicatorName:                  ai.IndicatorName.String(),
			IndicatorCategory:              ai.IndicatorCategory.String(),
			IndicatorDescription:           ai.IndicatorDescription.String(),
			TiIndicatorType:                ai.TiIndicatorType.String(),
			TiIndicatorValue:               ai.TiIndicatorValue.String(),
			TiIndicatorSource:              ai.TiIndicatorSource.String(),
			TiIndicatorComparisonMethod:    ai.TiIndicatorComparisonMethod.String(),
		},
		RuleInfo: &ruleInfoExtras{
			Severity: ri.Severity.String(), S1QL: ri.S1QL.String(), ScopeLevel: ri.ScopeLevel.String(),
			TreatAsThreat: ri.TreatAsThreat.String(), QueryLang: ri.QueryLang.String(), QueryType: ri.QueryType.String(),
		},
		AgentDetectionInfo: &alertAgentExtras{OSFamily: a.AgentDetectionInfo.OSFamily.String()},
		AgentRealtimeInfo: &alertRealtimeExtras{
			OS: ar.OS.String(), Infected: ar.Infected.Ptr(), IsActive: ar.IsActive.Ptr(), IsDecommissioned: ar.IsDecommissioned.Ptr(),
		},
		SourceProcessInfo:       procExtras(&a.SourceProcessInfo),
		SourceParentProcessInfo: procExtras(&a.SourceParentProcessInfo),
		TargetProcessInfo: &targetExtras{
			TgtProcStorylineID:  a.TargetProcessInfo.TgtProcStorylineID.String(),
			TgtProcSignedStatus: a.TargetProcessInfo.TgtProcSignedStatus.String(),
			TgtFileOldPath:      a.TargetProcessInfo.TgtFileOldPath.String(),
			TgtFileIsSigned:     a.TargetProcessInfo.TgtFileIsSigned.String(),
		},
		ContainerInfo:  compactObject(a.ContainerInfo),
		KubernetesInfo: compactObject(a.KubernetesInfo),
	}
	if n := ar.Name.String(); n != "" && n != ep.Hostname {
		x.AgentRealtimeInfo.Name = n
	}
	if ep.siteOnly() {
		x.AgentDetectionInfo.SiteID = ep.SiteID
	}
	if reflect.ValueOf(x.AlertInfo).Elem().IsZero() {
		x.AlertInfo = nil
	}
	if reflect.ValueOf(x.RuleInfo).Elem().IsZero() {
		x.RuleInfo = nil
	}
	if reflect.ValueOf(x.AgentDetectionInfo).Elem().IsZero() {
		x.AgentDetectionInfo = nil
	}
	if reflect.ValueOf(x.AgentRealtimeInfo).Elem().IsZero() {
		x.AgentRealtimeInfo = nil
	}
	if reflect.ValueOf(x.TargetProcessInfo).Elem().IsZero() {
		x.TargetProcessInfo = nil
	}
	if reflect.ValueOf(x).Elem().IsZero() {
		return nil
	}
	return x
}

func procExtras(p *s1SourceProcess) *processExtras {
	x := &processExtras{
		Storyline: p.Storyline.String(), FileSignerIdentity: p.FileSignerIdentity.String(),
		EffectiveUser: p.EffectiveUser.String(), RealUser: p.RealUser.String(), LoginUser: p.LoginUser.String(),
		Subsystem: p.Subsystem.String(),
	}
	if *x == (processExtras{}) {
		return nil
	}
	return x
}

func fillAlertRow(r *AlertRow, a *s1Alert, ep *endpointFacts, id string) {
	ai, ri, sp, tp := &a.AlertInfo, &a.RuleInfo, &a.SourceProcessInfo, &a.TargetProcessInfo
	*r = AlertRow{
		AlertID:                id,
		RuleID:                 ri.ID.String(),
		RuleName:               ri.Name.String(),
		RuleSeverity:           ri.Severity.String(),
		RuleDescription:        ri.Description.String(),
		RuleTreatAsThreat:      ri.TreatAsThreat.String(),
		RuleScopeLevel:         ri.ScopeLevel.String(),
		IncidentStatus:         ai.IncidentStatus.String(),
		AnalystVerdict:         ai.AnalystVerdict.String(),
		AgentID:                ep.AgentID,
		AgentUUID:              ep.UUID,
		AgentName:              ep.Hostname,
		AgentOSName:            ep.OSName,
		AgentMachineType:       ep.MachineType,
		SiteID:                 ep.SiteID,
		AccountID:              ep.AccountID,
		Source:                 ai.Source.String(),
		SourceProcessName:      sp.Name.String(),
		SourceProcessPID:       sp.PID.Value,
		SourceProcessCmdline:   sp.Commandline.String(),
		SourceProcessFilePath:  sp.FilePath.String(),
		SourceProcessSHA1:      sp.FileHashSha1.String(),
		SourceProcessSHA256:    sp.FileHashSha256.String(),
		SourceProcessUser:      sp.User.String(),
		SourceProcessStoryline: sp.Storyline.String(),
		TargetProcessName:      tp.TgtProcName.String(),
		TargetProcessCmdline:   tp.TgtProcCmdLine.String(),
		TargetFilePath:         tp.TgtFilePath.String(),
		TargetFileSHA1:         tp.TgtFileHashSha1.String(),
		TargetFileSHA256:       tp.TgtFileHashSha256.String(),
		EventType:              ai.EventType.String(),
		HitType:                ai.HitType.String(),
		DvEventID:              ai.DvEventID.String(),
		CreatedAt:              ai.CreatedAt.Ptr(),
		ReportedAt:             ai.ReportedAt.Ptr(),
		UpdatedAt:              ai.UpdatedAt.Ptr(),
	}
	r.Status = AlertStatus(r)
}
