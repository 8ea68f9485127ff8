package ocsf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// StreamAgents is the stream / log name of agent records.
const StreamAgents = "agents"

const agentMapping = "SentinelOne agent to OCSF 1.6.0 Device Inventory Info"

// s1Agent is the /web/api/v2.1/agents item (reference §7), decoded once with tolerant
// field types. Fields marked "Sekoia shape" are the alternative names used by the example
// devices of Sekoia's mapping (seeds/001); they are read as aliases of the console names.
type s1Agent struct {
	// identity and scope
	ID           FlexString `json:"id"`
	UUID         FlexString `json:"uuid"`
	ComputerName FlexString `json:"computerName"`
	Name         FlexString `json:"name"` // Sekoia shape (device display name)
	Type         FlexString `json:"type"` // Sekoia shape ("computer", "server")
	ExternalID   FlexString `json:"externalId"`
	AccountID    FlexString `json:"accountId"`
	AccountName  FlexString `json:"accountName"`
	SiteID       FlexString `json:"siteId"`
	SiteName     FlexString `json:"siteName"`
	GroupID      FlexString `json:"groupId"`
	GroupName    FlexString `json:"groupName"`
	GroupIP      FlexString `json:"groupIp"`
	MachineSID   FlexString `json:"machineSid"`

	// OS and hardware
	OSType         FlexString `json:"osType"`
	OSName         FlexString `json:"osName"`
	OSRevision     FlexString `json:"osRevision"`
	OSVersion      FlexString `json:"osVersion"` // Sekoia shape
	OSArch         FlexString `json:"osArch"`
	OSStartTime    FlexTime   `json:"osStartTime"`
	OSUsername     FlexString `json:"osUsername"`
	MachineType    FlexString `json:"machineType"`
	ModelName      FlexString `json:"modelName"`
	Manufacturer   FlexString `json:"manufacturer"` // Sekoia shape
	SerialNumber   FlexString `json:"serialNumber"`
	CPUID          FlexString `json:"cpuId"`
	CPUCount       FlexInt    `json:"cpuCount"`
	ProcessorCount FlexInt    `json:"processorCount"` // Sekoia shape
	CoreCount      FlexInt    `json:"coreCount"`
	TotalMemory    FlexInt    `json:"totalMemory"` // MB
	MemorySize     FlexInt    `json:"memorySize"`  // Sekoia shape, MB
	Domain         FlexString `json:"domain"`

	// network
	ExternalIP               FlexString      `json:"externalIp"`
	LastIPToMgmt             FlexString      `json:"lastIpToMgmt"`
	NetworkInterfaces        []s1NetIf       `json:"networkInterfaces"`
	IPv4Addresses            FlexStrings     `json:"ipv4Addresses"` // Sekoia shape
	IPv6Addresses            FlexStrings     `json:"ipv6Addresses"` // Sekoia shape
	MACAddresses             FlexStrings     `json:"macAddresses"`  // Sekoia shape
	NetworkStatus            FlexString      `json:"networkStatus"`
	IsOnline                 FlexBool        `json:"isOnline"` // Sekoia shape
	NetworkQuarantineEnabled FlexBool        `json:"networkQuarantineEnabled"`
	LocationEnabled          FlexBool        `json:"locationEnabled"`
	LocationType             FlexString      `json:"locationType"`
	Locations                json.RawMessage `json:"locations"`

	// agent state
	AgentVersion              FlexString      `json:"agentVersion"`
	AgentStatus               FlexString      `json:"agentStatus"` // Sekoia shape
	IsActive                  FlexBool        `json:"isActive"`
	IsDecommissioned          FlexBool        `json:"isDecommissioned"`
	IsUninstalled             FlexBool        `json:"isUninstalled"`
	IsPendingUninstall        FlexBool        `json:"isPendingUninstall"`
	IsUpToDate                FlexBool        `json:"isUpToDate"`
	Infected                  FlexBool        `json:"infected"`
	ActiveThreats             FlexInt         `json:"activeThreats"`
	ThreatCount               FlexInt         `json:"threatCount"` // Sekoia shape
	ThreatLevel               FlexString      `json:"threatLevel"` // Sekoia shape
	ThreatRebootRequired      FlexBool        `json:"threatRebootRequired"`
	MitigationMode            FlexString      `json:"mitigationMode"`
	MitigationModeSuspicious  FlexString      `json:"mitigationModeSuspicious"`
	EncryptedApplications     FlexBool        `json:"encryptedApplications"`
	EncryptionEnabled         FlexBool        `json:"encryptionEnabled"` // Sekoia shape
	FirewallEnabled           FlexBool        `json:"firewallEnabled"`
	IsFirewallEnabled         FlexBool        `json:"isFirewallEnabled"`         // Sekoia shape
	IsTamperProtectionEnabled FlexBool        `json:"isTamperProtectionEnabled"` // Sekoia shape
	AllowRemoteShell          FlexBool        `json:"allowRemoteShell"`
	InRemoteShellSession      FlexBool        `json:"inRemoteShellSession"`
	ScanStatus                FlexString      `json:"scanStatus"`
	ScanStartedAt             FlexTime        `json:"scanStartedAt"`
	ScanFinishedAt            FlexTime        `json:"scanFinishedAt"`
	ScanAbortedAt             FlexTime        `json:"scanAbortedAt"`
	LastSuccessfulScanDate    FlexTime        `json:"lastSuccessfulScanDate"`
	FullDiskScanLastUpdatedAt FlexTime        `json:"fullDiskScanLastUpdatedAt"`
	UserActionsNeeded         FlexStrings     `json:"userActionsNeeded"`
	MissingPermissions        FlexStrings     `json:"missingPermissions"`
	AppsVulnerabilityStatus   FlexString      `json:"appsVulnerabilityStatus"`
	ConsoleMigrationStatus    FlexString      `json:"consoleMigrationStatus"`
	RangerStatus              FlexString      `json:"rangerStatus"`
	RangerVersion             FlexString      `json:"rangerVersion"`
	OperationalState          FlexString      `json:"operationalState"`
	OperationalStateExp       FlexTime        `json:"operationalStateExpiration"`
	RemoteProfilingState      FlexString      `json:"remoteProfilingState"`
	RemoteProfilingStateExp   FlexTime        `json:"remoteProfilingStateExpiration"`
	DetectionState            FlexString      `json:"detectionState"`
	FirstFullModeTime         FlexTime        `json:"firstFullModeTime"`
	InstallerType             FlexString      `json:"installerType"`
	StorageName               FlexString      `json:"storageName"`
	StorageType               FlexString      `json:"storageType"`
	ShowAlertIcon             FlexBool        `json:"showAlertIcon"`
	HasContainerizedWorkload  FlexBool        `json:"hasContainerizedWorkload"`
	ContainerizedWorkload     json.RawMessage `json:"containerizedWorkloadCounts"`
	IsAdConnector             FlexBool        `json:"isAdConnector"`
	IsHyperAutomate           FlexBool        `json:"isHyperAutomate"`
	ActiveProtection          FlexStrings     `json:"activeProtection"`
	ProxyStates               json.RawMessage `json:"proxyStates"`

	// time
	CreatedAt        FlexTime `json:"createdAt"`
	CreatedDate      FlexTime `json:"createdDate"` // Sekoia shape
	UpdatedAt        FlexTime `json:"updatedAt"`
	UpdatedDate      FlexTime `json:"updatedDate"` // Sekoia shape
	RegisteredAt     FlexTime `json:"registeredAt"`
	LastActiveDate   FlexTime `json:"lastActiveDate"`
	LastIncidentDate FlexTime `json:"lastIncidentDate"` // Sekoia shape
	GroupUpdatedAt   FlexTime `json:"groupUpdatedAt"`
	PolicyUpdatedAt  FlexTime `json:"policyUpdatedAt"`

	// users
	LastLoggedInUserName FlexString `json:"lastLoggedInUserName"`
	UserID               FlexString `json:"userId"`       // Sekoia shape
	UserName             FlexString `json:"userName"`     // Sekoia shape
	UserFullName         FlexString `json:"userFullName"` // Sekoia shape

	// other
	ActiveDirectory json.RawMessage `json:"activeDirectory"`
	CloudProviders  json.RawMessage `json:"cloudProviders"`
	Tags            json.RawMessage `json:"tags"`
	// licenseKey is deliberately not decoded: it is a site registration secret.
}

type s1NetIf struct {
	ID                FlexString  `json:"id,omitempty"`
	Name              FlexString  `json:"name,omitempty"`
	Physical          FlexString  `json:"physical,omitempty"`
	Inet              FlexStrings `json:"inet,omitempty"`
	Inet6             FlexStrings `json:"inet6,omitempty"`
	GatewayIP         FlexString  `json:"gatewayIp,omitempty"`
	GatewayMacAddress FlexString  `json:"gatewayMacAddress,omitempty"`
}

type s1Cloud struct {
	CloudAccount    FlexString `json:"cloudAccount"`
	CloudInstanceID FlexString `json:"cloudInstanceId"`
	CloudLocation   FlexString `json:"cloudLocation"`
	CloudNetwork    FlexString `json:"cloudNetwork"`
}

type s1Tag struct {
	ID    FlexString `json:"id"`
	Key   FlexString `json:"key"`
	Value FlexString `json:"value"`
}

// ---- OCSF 5001 event types (attribute names checked against schema/inventory_info.schema.json) ----

type inventoryInfoEvent struct {
	baseEvent
	Device      device         `json:"device"`
	Cloud       *cloud         `json:"cloud,omitempty"`
	Enrichments []enrichment   `json:"enrichments,omitempty"`
	Unmapped    *agentUnmapped `json:"unmapped,omitempty"`
}

type device struct {
	TypeID            int                `json:"type_id"`
	Type              string             `json:"type,omitempty"`
	UID               string             `json:"uid,omitempty"`
	UIDAlt            string             `json:"uid_alt,omitempty"`
	Name              string             `json:"name,omitempty"`
	Hostname          string             `json:"hostname,omitempty"`
	Domain            string             `json:"domain,omitempty"`
	IP                string             `json:"ip,omitempty"`
	MAC               string             `json:"mac,omitempty"`
	InterfaceName     string             `json:"interface_name,omitempty"`
	InterfaceUID      string             `json:"interface_uid,omitempty"`
	VendorName        string             `json:"vendor_name,omitempty"`
	Model             string             `json:"model,omitempty"`
	InstanceUID       string             `json:"instance_uid,omitempty"`
	Region            string             `json:"region,omitempty"`
	VpcUID            string             `json:"vpc_uid,omitempty"`
	OS                *deviceOS          `json:"os,omitempty"`
	HWInfo            *hwInfo            `json:"hw_info,omitempty"`
	NetworkInterfaces []networkInterface `json:"network_interfaces,omitempty"`
	AgentList         []agent            `json:"agent_list,omitempty"`
	Groups            []group            `json:"groups,omitempty"`
	Org               *organization      `json:"org,omitempty"`
	Owner             *user              `json:"owner,omitempty"`
	IsManaged         *bool              `json:"is_managed,omitempty"`
	CreatedTime       int64              `json:"created_time,omitempty"`
	FirstSeenTime     int64              `json:"first_seen_time,omitempty"`
	LastSeenTime      int64              `json:"last_seen_time,omitempty"`
	ModifiedTime      int64              `json:"modified_time,omitempty"`
	BootTime          int64              `json:"boot_time,omitempty"`
}

type deviceOS struct {
	Name    string `json:"name"`
	TypeID  int    `json:"type_id"`
	Type    string `json:"type,omitempty"`
	Version string `json:"version,omitempty"`
	Build   string `json:"build,omitempty"`
	CPUBits int    `json:"cpu_bits,omitempty"`
}

type hwInfo struct {
	CPUType           string `json:"cpu_type,omitempty"`
	CPUCount          int64  `json:"cpu_count,omitempty"`
	CPUCores          int64  `json:"cpu_cores,omitempty"`
	CPUBits           int    `json:"cpu_bits,omitempty"`
	CPUArchitectureID int    `json:"cpu_architecture_id,omitempty"`
	CPUArchitecture   string `json:"cpu_architecture,omitempty"`
	RAMSize           int64  `json:"ram_size,omitempty"` // MB, as OCSF defines it
	SerialNumber      string `json:"serial_number,omitempty"`
	VendorName        string `json:"vendor_name,omitempty"`
}

type networkInterface struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	MAC  string `json:"mac,omitempty"`
	IP   string `json:"ip,omitempty"`
}

type agent struct {
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
	UIDAlt     string `json:"uid_alt,omitempty"`
	TypeID     int    `json:"type_id"`
	Type       string `json:"type,omitempty"`
	VendorName string `json:"vendor_name,omitempty"`
	Version    string `json:"version,omitempty"`
}

type group struct {
	UID  string `json:"uid,omitempty"`
	Name string `json:"name,omitempty"`
	Type string `json:"type,omitempty"`
}

type organization struct {
	UID    string `json:"uid,omitempty"`
	Name   string `json:"name,omitempty"`
	OUUID  string `json:"ou_uid,omitempty"`
	OUName string `json:"ou_name,omitempty"`
}

type user struct {
	UID      string `json:"uid,omitempty"`
	Name     string `json:"name,omitempty"`
	FullName string `json:"full_name,omitempty"`
}

type cloudAccount struct {
	UID string `json:"uid"`
}

type cloud struct {
	Provider string        `json:"provider"`
	Region   string        `json:"region,omitempty"`
	Account  *cloudAccount `json:"account,omitempty"`
}

// deviceSecurity is enrichments[0].data, named exactly as in Sekoia's mapping.
type deviceSecurity struct {
	ThreatLevel       string `json:"threat_level,omitempty"`
	ThreatCount       *int64 `json:"threat_count,omitempty"`
	IsEnabled         *bool  `json:"is_enabled,omitempty"`
	AgentStatus       string `json:"agent_status,omitempty"`
	AgentVersion      string `json:"agent_version,omitempty"`
	IsEncrypted       *bool  `json:"is_encrypted,omitempty"`
	IsFirewallEnabled *bool  `json:"is_firewall_enabled,omitempty"`
	IsTamperProtected *bool  `json:"is_tamper_protected,omitempty"`
	LastSeen          int64  `json:"last_seen,omitempty"`
}

type agentUnmapped struct {
	Device      *sekoiaDeviceExtras `json:"device,omitempty"`
	SentinelOne *s1AgentExtras      `json:"sentinelone,omitempty"`
}

// sekoiaDeviceExtras holds the device attributes of Sekoia's mapping that OCSF 1.6.0 does
// not define, under Sekoia's names. (Those with an OCSF home are mapped there instead:
// cpu_count→hw_info.cpu_count, core_count→hw_info.cpu_cores, memory_size→hw_info.ram_size,
// serial_number→hw_info.serial_number, manufacturer→vendor_name, agent_version→
// agent_list[].version, user_*→owner, updated_time→modified_time, mac_address→mac.)
type sekoiaDeviceExtras struct {
	Type              string   `json:"type,omitempty"` // source `type`; device.type carries the OCSF caption of type_id
	MachineType       string   `json:"machine_type,omitempty"`
	IsEnabled         *bool    `json:"is_enabled,omitempty"`
	IsOnline          *bool    `json:"is_online,omitempty"`
	AgentStatus       string   `json:"agent_status,omitempty"`
	ThreatLevel       string   `json:"threat_level,omitempty"`
	ThreatCount       *int64   `json:"threat_count,omitempty"`
	IsEncrypted       *bool    `json:"is_encrypted,omitempty"`
	IsFirewallEnabled *bool    `json:"is_firewall_enabled,omitempty"`
	IsTamperProtected *bool    `json:"is_tamper_protected,omitempty"`
	LastIncidentTime  int64    `json:"last_incident_time,omitempty"`
	IPv4Addresses     []string `json:"ipv4_addresses,omitempty"`
	IPv6Addresses     []string `json:"ipv6_addresses,omitempty"`
	MACAddresses      []string `json:"mac_addresses,omitempty"`
}

// s1AgentExtras holds console fields with no OCSF home, under their console names
// (timestamps as RFC 3339 strings, nested objects verbatim).
type s1AgentExtras struct {
	ExternalID                     string          `json:"externalId,omitempty"`
	ExternalIP                     string          `json:"externalIp,omitempty"`
	LastIPToMgmt                   string          `json:"lastIpToMgmt,omitempty"`
	GroupIP                        string          `json:"groupIp,omitempty"`
	SiteID                         string          `json:"siteId,omitempty"`   // only when no account (device.org needs one)
	SiteName                       string          `json:"siteName,omitempty"` // idem
	MachineSID                     string          `json:"machineSid,omitempty"`
	OSUsername                     string          `json:"osUsername,omitempty"`
	OSArch                         string          `json:"osArch,omitempty"`
	NetworkStatus                  string          `json:"networkStatus,omitempty"`
	NetworkQuarantineEnabled       *bool           `json:"networkQuarantineEnabled,omitempty"`
	NetworkInterfaces              []s1NetIf       `json:"networkInterfaces,omitempty"`
	IsDecommissioned               *bool           `json:"isDecommissioned,omitempty"`
	IsUninstalled                  *bool           `json:"isUninstalled,omitempty"`
	IsPendingUninstall             *bool           `json:"isPendingUninstall,omitempty"`
	IsUpToDate                     *bool           `json:"isUpToDate,omitempty"`
	Infected                       *bool           `json:"infected,omitempty"`
	ThreatRebootRequired           *bool           `json:"threatRebootRequired,omitempty"`
	MitigationMode                 string          `json:"mitigationMode,omitempty"`
	MitigationModeSuspicious       string          `json:"mitigationModeSuspicious,omitempty"`
	AllowRemoteShell               *bool           `json:"allowRemoteShell,omitempty"`
	InRemoteShellSession           *bool           `json:"inRemoteShellSession,omitempty"`
	ScanStatus                     string          `json:"scanStatus,omitempty"`
	ScanStartedAt                  string          `json:"scanStartedAt,omitempty"`
	ScanFinishedAt                 string          `json:"scanFinishedAt,omitempty"`
	ScanAbortedAt                  string          `json:"scanAbortedAt,omitempty"`
	LastSuccessfulScanDate         string          `json:"lastSuccessfulScanDate,omitempty"`
	FullDiskScanLastUpdatedAt      string          `json:"fullDiskScanLastUpdatedAt,omitempty"`
	UserActionsNeeded              []string        `json:"userActionsNeeded,omitempty"`
	MissingPermissions             []string        `json:"missingPermissions,omitempty"`
	AppsVulnerabilityStatus        string          `json:"appsVulnerabilityStatus,omitempty"`
	ConsoleMigrationStatus         string          `json:"consoleMigrationStatus,omitempty"`
	RangerStatus                   string          `json:"rangerStatus,omitempty"`
	RangerVersion                  string          `json:"rangerVersion,omitempty"`
	OperationalState               string          `json:"operationalState,omitempty"`
	OperationalStateExpiration     string          `json:"operationalStateExpiration,omitempty"`
	RemoteProfilingState           string          `json:"remoteProfilingState,omitempty"`
	RemoteProfilingStateExpiration string          `json:"remoteProfilingStateExpiration,omitempty"`
	DetectionState                 string          `json:"detectionState,omitempty"`
	FirstFullModeTime              string          `json:"firstFullModeTime,omitempty"`
	InstallerType                  string          `json:"installerType,omitempty"`
	StorageName                    string          `json:"storageName,omitempty"`
	StorageType                    string          `json:"storageType,omitempty"`
	ShowAlertIcon                  *bool           `json:"showAlertIcon,omitempty"`
	HasContainerizedWorkload       *bool           `json:"hasContainerizedWorkload,omitempty"`
	ContainerizedWorkloadCounts    json.RawMessage `json:"containerizedWorkloadCounts,omitempty"`
	IsAdConnector                  *bool           `json:"isAdConnector,omitempty"`
	IsHyperAutomate                *bool           `json:"isHyperAutomate,omitempty"`
	ActiveProtection               []string        `json:"activeProtection,omitempty"`
	LocationEnabled                *bool           `json:"locationEnabled,omitempty"`
	LocationType                   string          `json:"locationType,omitempty"`
	Locations                      json.RawMessage `json:"locations,omitempty"`
	ProxyStates                    json.RawMessage `json:"proxyStates,omitempty"`
	ActiveDirectory                json.RawMessage `json:"activeDirectory,omitempty"`
	CloudProviders                 json.RawMessage `json:"cloudProviders,omitempty"`
	GroupUpdatedAt                 string          `json:"groupUpdatedAt,omitempty"`
	PolicyUpdatedAt                string          `json:"policyUpdatedAt,omitempty"`
}

// Agent transforms one /agents item into an OCSF 5001 Device Inventory Info event and a
// HostAsset row. raw is hashed exactly as received. Malformed input yields an error naming
// the field; the known quirks ("True"/"False" strings, "None", nulls, missing
// networkInterfaces, empty strings) are accepted.
func Agent(raw json.RawMessage, m Meta) (*AgentRecord, error) {
	var a s1Agent
	if err := m.Decode(raw, &a); err != nil {
		return nil, decodeError("agent", err)
	}
	id := a.ID.String()
	if id == "" {
		return nil, errors.New(`ocsf: agent: missing required field "id"`)
	}
	tags, err := parseTags(a.Tags)
	if err != nil {
		return nil, fmt.Errorf("ocsf: agent %s: field %q: %w", id, "tags", err)
	}
	a.coalesce()

	hash := HashRaw(raw)
	ev := buildAgentEvent(&a, id, tags, hash, m)
	b, err := fastjson.Marshal(ev)
	if err != nil { // unreachable with these types; kept for safety
		return nil, fmt.Errorf("ocsf: agent %s: encode event: %w", id, err)
	}
	rec := &AgentRecord{
		Key:       id,
		UpdatedAt: a.UpdatedAt.Time,
		Hash:      hash,
		Event:     b,
	}
	fillHostAsset(&rec.Flat, &a, id, tags)
	return rec, nil
}

// decodeError turns encoding/json errors into one line naming the field.
func decodeError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "(root)"
		}
		return fmt.Errorf("ocsf: %s: field %q: cannot decode %s as %s", what, field, te.Value, typeLabel(te))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("ocsf: %s: invalid JSON at byte %d: %v", what, se.Offset, err)
	}
	return fmt.Errorf("ocsf: %s: %w", what, err)
}

func typeLabel(te *json.UnmarshalTypeError) string {
	if te.Type == nil {
		return "value"
	}
	switch te.Type {
	case flexStringType:
		return "a string"
	case flexStringsType:
		return "a list of strings"
	case flexBoolType:
		return "a boolean"
	case flexIntType:
		return "an integer"
	case flexTimeType:
		return "a timestamp"
	}
	switch te.Type.Kind().String() {
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return te.Type.String()
}

// coalesce folds the Sekoia-shape aliases into the console field names.
func (a *s1Agent) coalesce() {
	if !a.CPUCount.Valid {
		a.CPUCount = a.ProcessorCount
	}
	if !a.TotalMemory.Valid {
		a.TotalMemory = a.MemorySize
	}
	if !a.ActiveThreats.Valid {
		a.ActiveThreats = a.ThreatCount
	}
	if !a.EncryptedApplications.Valid {
		a.EncryptedApplications = a.EncryptionEnabled
	}
	if !a.FirewallEnabled.Valid {
		a.FirewallEnabled = a.IsFirewallEnabled
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = a.CreatedDate
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.UpdatedDate
	}
	if a.ComputerName == "" {
		a.ComputerName = a.Name
	}
	for i := range a.NetworkInterfaces {
		a.NetworkInterfaces[i].Physical = FlexString(normalizeMAC(a.NetworkInterfaces[i].Physical.String()))
	}
}

// normalizeMAC rewrites "00-00-5E-00-53-00" to colon form; case is kept as sent.
func normalizeMAC(s string) string {
	if strings.IndexByte(s, '-') < 0 {
		return s
	}
	return strings.ReplaceAll(s, "-", ":")
}

func parseTags(raw json.RawMessage) ([]s1Tag, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNullish(raw) {
		return nil, nil
	}
	var out []s1Tag
	switch raw[0] {
	case '{': // {"sentinelone": [...], ...}: scopes in name order for determinism
		var byScope map[string][]s1Tag
		if err := fastjson.Unmarshal(raw, &byScope); err != nil {
			return nil, errors.New(`want {"<scope>": [{"key","value"}...]} or a list of tags`)
		}
		scopes := make([]string, 0, len(byScope))
		for k := range byScope {
			scopes = append(scopes, k)
		}
		sort.Strings(scopes)
		for _, k := range scopes {
			out = append(out, byScope[k]...)
		}
	case '[':
		if err := fastjson.Unmarshal(raw, &out); err != nil {
			return nil, errors.New(`want a list of {"key","value"} tags`)
		}
	default:
		return nil, errors.New(`want {"<scope>": [{"key","value"}...]} or a list of tags`)
	}
	kept := out[:0]
	for _, t := range out {
		if t.Key.String() != "" || t.Value.String() != "" {
			kept = append(kept, t)
		}
	}
	return kept, nil
}

// agentStatus derives active / inactive / decommissioned / uninstalled (an explicit
// agentStatus, as in Sekoia's examples, wins). "" when nothing is known.
func agentStatus(a *s1Agent) string {
	if s := a.AgentStatus.String(); s != "" {
		return strings.ToLower(s)
	}
	switch {
	case a.IsUninstalled.Value:
		return "uninstalled"
	case a.IsDecommissioned.Value:
		return "decommissioned"
	case a.IsActive.Valid && a.IsActive.Value:
		return "active"
	case a.IsActive.Valid:
		return "inactive"
	}
	return ""
}

// networkStatus is the console's networkStatus, else derived from Sekoia's isOnline.
func networkStatus(a *s1Agent) string {
	if s := a.NetworkStatus.String(); s != "" {
		return s
	}
	if a.IsOnline.Valid {
		if a.IsOnline.Value {
			return "connected"
		}
		return "disconnected"
	}
	return ""
}

// threatLevel is Sekoia's threatLevel when sent, else derived: "bad" when the agent is
// infected or has active threats, "good" when it is known to have neither.
func threatLevel(a *s1Agent) string {
	if s := a.ThreatLevel.String(); s != "" {
		return s
	}
	if (a.Infected.Valid && a.Infected.Value) || a.ActiveThreats.Value > 0 {
		return "bad"
	}
	if a.Infected.Valid || a.ActiveThreats.Valid {
		return "good"
	}
	return ""
}

// deviceType maps machineType (else Sekoia's type) to OCSF device.type_id and caption.
func deviceType(machineType, srcType string) (int, string) {
	t := strings.ToLower(machineType)
	if t == "" || t == "unknown" {
		t = strings.ToLower(srcType)
	}
	switch t {
	case "server", "kubernetes node", "storage":
		return 1, "Server"
	case "desktop", "workstation":
		return 2, "Desktop"
	case "laptop":
		return 3, "Laptop"
	case "tablet":
		return 4, "Tablet"
	case "mobile":
		return 5, "Mobile"
	case "virtual", "kubernetes pod", "ecs task", "vm":
		return 6, "Virtual"
	case "", "unknown", "computer":
		return 0, "Unknown"
	}
	return 99, "Other"
}

// osType maps osType to OCSF os.type_id and caption.
func osType(s string) (int, string) {
	switch strings.ToLower(s) {
	case "windows", "windows_legacy":
		return 100, "Windows"
	case "linux":
		return 200, "Linux"
	case "android":
		return 201, "Android"
	case "macos", "osx", "darwin":
		return 300, "macOS"
	case "ios":
		return 301, "iOS"
	case "":
		return 0, "Unknown"
	}
	return 99, "Other"
}

// archBits maps osArch ("32 bit", "64 bit", "ARM64") to bits and, for ARM, the OCSF
// cpu_architecture_id (x86 is not asserted: "64 bit" does not say which ISA).
func archBits(s string) (bits int, archID int, arch string) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "64 bit", "64-bit", "x64", "x86_64", "amd64":
		return 64, 0, ""
	case "32 bit", "32-bit", "x86":
		return 32, 0, ""
	case "arm64", "aarch64":
		return 64, 2, "ARM"
	}
	return 0, 0, ""
}

func rawOrNil(r json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(r)
	if len(t) == 0 || isNullish(t) || string(t) == "{}" || string(t) == "[]" {
		return nil
	}
	return t
}

func strs(l FlexStrings) []string { return []string(l) }

func buildAgentEvent(a *s1Agent, id string, tags []s1Tag, hash string, m Meta) *inventoryInfoEvent {
	ts := a.UpdatedAt.Millis()
	for _, t := range []FlexTime{a.LastActiveDate, a.CreatedAt} {
		if ts != 0 {
			break
		}
		ts = t.Millis()
	}
	if ts == 0 && !m.Now.IsZero() {
		ts = m.Now.UnixMilli()
	}
	ev := &inventoryInfoEvent{baseEvent: baseEvent{
		ActivityID:   ActivityCollect,
		ActivityName: "Collect",
		CategoryUID:  CategoryDiscovery,
		CategoryName: "Discovery",
		ClassUID:     ClassDeviceInventoryInfo,
		ClassName:    "Device Inventory Info",
		TypeUID:      ClassDeviceInventoryInfo*100 + ActivityCollect,
		TypeName:     "Device Inventory Info: Collect",
		SeverityID:   SeverityInformational,
		Severity:     "Informational",
		StatusID:     StatusSuccess,
		Status:       "Success",
		Time:         ts,
		Metadata:     newMetadata(m, StreamAgents, id, hash, a.AccountID.String(), a.UpdatedAt.ISO(), agentMapping),
	}}
	for _, t := range tags {
		ev.Metadata.Tags = append(ev.Metadata.Tags, keyValue{Name: t.Key.String(), Value: t.Value.String()})
	}

	d := &ev.Device
	d.TypeID, d.Type = deviceType(a.MachineType.String(), a.Type.String())
	d.UID = id
	d.UIDAlt = a.UUID.String()
	d.Name = a.Name.String()
	if d.Name == "" {
		d.Name = a.ComputerName.String()
	}
	d.Hostname = a.ComputerName.String()
	d.Domain = a.Domain.String()
	d.VendorName = a.Manufacturer.String()
	d.Model = a.ModelName.String()

	// network: primary interface = first one with an IPv4 address
	for _, nif := range a.NetworkInterfaces {
		ni := networkInterface{UID: nif.ID.String(), Name: nif.Name.String(), MAC: nif.Physical.String()}
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
			d.IP, d.MAC, d.InterfaceName, d.InterfaceUID = nif.Inet[0], ni.MAC, ni.Name, ni.UID
		}
	}
	if d.IP == "" && len(a.IPv4Addresses) > 0 {
		d.IP = a.IPv4Addresses[0]
	}
	if d.IP == "" {
		d.IP = a.LastIPToMgmt.String()
	}
	if d.IP == "" {
		d.IP = a.ExternalIP.String()
	}
	if d.IP == "" && len(a.IPv6Addresses) > 0 {
		d.IP = a.IPv6Addresses[0]
	}
	if d.MAC == "" {
		if len(a.MACAddresses) > 0 {
			d.MAC = normalizeMAC(a.MACAddresses[0])
		} else {
			for _, ni := range d.NetworkInterfaces {
				if ni.MAC != "" {
					d.MAC = ni.MAC
					break
				}
			}
		}
	}

	bits, archID, arch := archBits(a.OSArch.String())
	if name := firstNonEmpty(a.OSName.String(), a.OSVersion.String(), a.OSType.String()); name != "" {
		os := &deviceOS{Name: name, CPUBits: bits}
		os.TypeID, os.Type = osType(a.OSType.String())
		os.Version = firstNonEmpty(a.OSVersion.String(), a.OSRevision.String())
		os.Build = a.OSRevision.String()
		d.OS = os
	}
	hw := hwInfo{
		CPUType:           a.CPUID.String(),
		CPUCount:          a.CPUCount.Value,
		CPUCores:          a.CoreCount.Value,
		CPUBits:           bits,
		CPUArchitectureID: archID,
		CPUArchitecture:   arch,
		RAMSize:           a.TotalMemory.Value,
		SerialNumber:      a.SerialNumber.String(),
		VendorName:        a.Manufacturer.String(),
	}
	if hw != (hwInfo{}) {
		d.HWInfo = &hw
	}

	d.AgentList = []agent{{
		Name:       ProductName,
		UID:        id,
		UIDAlt:     a.UUID.String(),
		TypeID:     1,
		Type:       "Endpoint Detection and Response",
		VendorName: VendorName,
		Version:    a.AgentVersion.String(),
	}}
	if g := (group{UID: a.GroupID.String(), Name: a.GroupName.String()}); g.UID != "" || g.Name != "" {
		g.Type = "SentinelOne group"
		d.Groups = []group{g}
	}
	org := organization{UID: a.AccountID.String(), Name: a.AccountName.String(), OUUID: a.SiteID.String(), OUName: a.SiteName.String()}
	if org.UID != "" || org.Name != "" {
		d.Org = &org
	}
	owner := user{UID: a.UserID.String(), Name: firstNonEmpty(a.UserName.String(), a.LastLoggedInUserName.String(), a.OSUsername.String()), FullName: a.UserFullName.String()}
	if owner.UID != "" || owner.Name != "" {
		d.Owner = &owner
	}
	managed := !a.IsDecommissioned.Value && !a.IsUninstalled.Value
	d.IsManaged = &managed
	d.CreatedTime = a.CreatedAt.Millis()
	d.FirstSeenTime = a.RegisteredAt.Millis()
	if d.FirstSeenTime == 0 {
		d.FirstSeenTime = d.CreatedTime
	}
	d.LastSeenTime = a.LastActiveDate.Millis()
	d.ModifiedTime = a.UpdatedAt.Millis()
	d.BootTime = a.OSStartTime.Millis()

	if c := firstCloud(a.CloudProviders); c != nil {
		d.InstanceUID = c.cloud.CloudInstanceID.String()
		d.Region = c.cloud.CloudLocation.String()
		d.VpcUID = c.cloud.CloudNetwork.String()
		ev.Cloud = &cloud{Provider: c.provider, Region: d.Region}
		if acct := c.cloud.CloudAccount.String(); acct != "" {
			ev.Cloud.Account = &cloudAccount{UID: acct}
		}
	}

	// device_security enrichment, as Sekoia's mapping describes it
	status := agentStatus(a)
	level := threatLevel(a)
	ds := deviceSecurity{
		ThreatLevel:       level,
		ThreatCount:       a.ActiveThreats.Ptr(),
		IsEnabled:         a.IsActive.Ptr(),
		AgentStatus:       status,
		AgentVersion:      a.AgentVersion.String(),
		IsEncrypted:       a.EncryptedApplications.Ptr(),
		IsFirewallEnabled: a.FirewallEnabled.Ptr(),
		IsTamperProtected: a.IsTamperProtectionEnabled.Ptr(),
		LastSeen:          a.LastActiveDate.Millis(),
	}
	ev.Enrichments = []enrichment{{
		Name: "device_security", Value: "sentinelone_device", Type: "security_posture", Provider: VendorName, Data: ds,
	}}

	online := a.IsOnline.Ptr()
	if online == nil && a.NetworkStatus.String() != "" {
		v := a.NetworkStatus.String() == "connected"
		online = &v
	}
	sx := &sekoiaDeviceExtras{
		Type:              a.Type.String(),
		MachineType:       a.MachineType.String(),
		IsEnabled:         ds.IsEnabled,
		IsOnline:          online,
		AgentStatus:       status,
		ThreatLevel:       level,
		ThreatCount:       ds.ThreatCount,
		IsEncrypted:       ds.IsEncrypted,
		IsFirewallEnabled: ds.IsFirewallEnabled,
		IsTamperProtected: ds.IsTamperProtected,
		LastIncidentTime:  a.LastIncidentDate.Millis(),
	}
	for _, nif := range a.NetworkInterfaces {
		for _, ip := range nif.Inet {
			sx.IPv4Addresses = appendUnique(sx.IPv4Addresses, ip)
		}
		for _, ip := range nif.Inet6 {
			sx.IPv6Addresses = appendUnique(sx.IPv6Addresses, ip)
		}
		sx.MACAddresses = appendUnique(sx.MACAddresses, nif.Physical.String())
	}
	for _, ip := range a.IPv4Addresses {
		sx.IPv4Addresses = appendUnique(sx.IPv4Addresses, ip)
	}
	for _, ip := range a.IPv6Addresses {
		sx.IPv6Addresses = appendUnique(sx.IPv6Addresses, ip)
	}
	for _, mac := range a.MACAddresses {
		sx.MACAddresses = appendUnique(sx.MACAddresses, normalizeMAC(mac))
	}

	s1 := &s1AgentExtras{
		ExternalID:                     a.ExternalID.String(),
		ExternalIP:                     a.ExternalIP.String(),
		LastIPToMgmt:                   a.LastIPToMgmt.String(),
		GroupIP:                        a.GroupIP.String(),
		MachineSID:                     a.MachineSID.String(),
		OSUsername:                     a.OSUsername.String(),
		OSArch:                         a.OSArch.String(),
		NetworkStatus:                  a.NetworkStatus.String(),
		NetworkQuarantineEnabled:       a.NetworkQuarantineEnabled.Ptr(),
		NetworkInterfaces:              a.NetworkInterfaces,
		IsDecommissioned:               a.IsDecommissioned.Ptr(),
		IsUninstalled:                  a.IsUninstalled.Ptr(),
		IsPendingUninstall:             a.IsPendingUninstall.Ptr(),
		IsUpToDate:                     a.IsUpToDate.Ptr(),
		Infected:                       a.Infected.Ptr(),
		ThreatRebootRequired:           a.ThreatRebootRequired.Ptr(),
		MitigationMode:                 a.MitigationMode.String(),
		MitigationModeSuspicious:       a.MitigationModeSuspicious.String(),
		AllowRemoteShell:               a.AllowRemoteShell.Ptr(),
		InRemoteShellSession:           a.InRemoteShellSession.Ptr(),
		ScanStatus:                     a.ScanStatus.String(),
		ScanStartedAt:                  a.ScanStartedAt.ISO(),
		ScanFinishedAt:                 a.ScanFinishedAt.ISO(),
		ScanAbortedAt:                  a.ScanAbortedAt.ISO(),
		LastSuccessfulScanDate:         a.LastSuccessfulScanDate.ISO(),
		FullDiskScanLastUpdatedAt:      a.FullDiskScanLastUpdatedAt.ISO(),
		UserActionsNeeded:              strs(a.UserActionsNeeded),
		MissingPermissions:             strs(a.MissingPermissions),
		AppsVulnerabilityStatus:        a.AppsVulnerabilityStatus.String(),
		ConsoleMigrationStatus:         a.ConsoleMigrationStatus.String(),
		RangerStatus:                   a.RangerStatus.String(),
		RangerVersion:                  a.RangerVersion.String(),
		OperationalState:               a.OperationalState.String(),
		OperationalStateExpiration:     a.OperationalStateExp.ISO(),
		RemoteProfilingState:           a.RemoteProfilingState.String(),
		RemoteProfilingStateExpiration: a.RemoteProfilingStateExp.ISO(),
		DetectionState:                 a.DetectionState.String(),
		FirstFullModeTime:              a.FirstFullModeTime.ISO(),
		InstallerType:                  a.InstallerType.String(),
		StorageName:                    a.StorageName.String(),
		StorageType:                    a.StorageType.String(),
		ShowAlertIcon:                  a.ShowAlertIcon.Ptr(),
		HasContainerizedWorkload:       a.HasContainerizedWorkload.Ptr(),
		ContainerizedWorkloadCounts:    rawOrNil(a.ContainerizedWorkload),
		IsAdConnector:                  a.IsAdConnector.Ptr(),
		IsHyperAutomate:                a.IsHyperAutomate.Ptr(),
		ActiveProtection:               strs(a.ActiveProtection),
		LocationEnabled:                a.LocationEnabled.Ptr(),
		LocationType:                   a.LocationType.String(),
		Locations:                      rawOrNil(a.Locations),
		ProxyStates:                    rawOrNil(a.ProxyStates),
		ActiveDirectory:                rawOrNil(a.ActiveDirectory),
		CloudProviders:                 rawOrNil(a.CloudProviders),
		GroupUpdatedAt:                 a.GroupUpdatedAt.ISO(),
		PolicyUpdatedAt:                a.PolicyUpdatedAt.ISO(),
	}
	if d.Org == nil {
		s1.SiteID, s1.SiteName = a.SiteID.String(), a.SiteName.String()
	}
	u := &agentUnmapped{}
	if !reflect.ValueOf(sx).Elem().IsZero() {
		u.Device = sx
	}
	if !reflect.ValueOf(s1).Elem().IsZero() {
		u.SentinelOne = s1
	}
	if u.Device != nil || u.SentinelOne != nil {
		ev.Unmapped = u
	}
	return ev
}

type namedCloud struct {
	provider string
	cloud    s1Cloud
}

// firstCloud returns the first provider (by name) of cloudProviders, nil when empty or
// not an object of objects (the raw value still goes to unmapped).
func firstCloud(raw json.RawMessage) *namedCloud {
	r := rawOrNil(raw)
	if r == nil || r[0] != '{' {
		return nil
	}
	var m map[string]s1Cloud
	if err := fastjson.Unmarshal(r, &m); err != nil || len(m) == 0 {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		if strings.TrimSpace(k) != "" {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return &namedCloud{provider: names[0], cloud: m[names[0]]}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
