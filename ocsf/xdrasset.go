package ocsf

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// StreamXDRAssets is the stream / log name of XDR asset (Unified Asset Inventory) records.
const StreamXDRAssets = "xdr_assets"

const xdrMapping = "SentinelOne XDR asset to OCSF 1.6.0 Device Inventory Info"

// ---- host view: one device builder for risks, installed software and XDR assets ----

// hostView is what a transform knows about a host, from whichever source; device() turns
// it into an OCSF device (attributes of schema/*: device, os, hw_info, agent_list, groups,
// org, owner, network_interfaces).
type hostView struct {
	UID, UIDAlt, Name, Hostname, Domain      string
	IP, MAC, InterfaceName, Region           string
	Interfaces                               []networkInterface
	Model, Vendor                            string
	OSName, OSType, OSVersion, OSBuild       string
	OSArch, MachineType, TypeHint            string
	CPUType, Serial                          string
	CPUCount, CoreCount, RAMMB               int64
	AgentID, AgentUUID, AgentVersion         string
	AccountID, AccountName, SiteID, SiteName string
	GroupID, GroupName, Owner                string
	Created, FirstSeen, LastSeen             int64
	Modified, Boot                           int64
	Managed                                  *bool
}

// fromHostAsset fills the view from an agent row (comma lists: the first element is used
// for ip, mac and interface_name).
func (v *hostView) fromHostAsset(h *HostAsset) {
	v.UID = firstNonEmpty(h.AgentID, v.UID)
	v.UIDAlt = h.UUID
	v.Name = firstNonEmpty(h.Hostname, v.Name)
	v.Hostname = firstNonEmpty(h.Hostname, v.Hostname)
	v.Domain = h.Domain
	v.IP = firstNonEmpty(firstOfList(h.IPAddresses), h.ExternalIP)
	v.MAC = firstOfList(h.MACAddress)
	v.InterfaceName = firstOfList(h.InterfaceName)
	v.Model, v.Vendor = h.Model, h.Manufacturer
	v.OSName, v.OSVersion, v.OSBuild, v.OSArch = h.OSName, h.OSVersion, h.OSVersion, h.OSArch
	v.OSType = firstNonEmpty(h.OSType, v.OSType)
	v.MachineType = firstNonEmpty(h.MachineType, v.MachineType)
	v.CPUType, v.Serial = h.Processor, h.SerialNumber
	v.CPUCount, v.CoreCount, v.RAMMB = h.CPUCount, h.CoreCount, h.TotalMemoryMB
	v.AgentID = firstNonEmpty(h.AgentID, v.AgentID)
	v.AgentUUID, v.AgentVersion = h.UUID, h.AgentVersion
	v.AccountID, v.AccountName, v.SiteID, v.SiteName = h.AccountID, h.AccountName, h.SiteID, h.SiteName
	v.GroupID, v.GroupName, v.Owner = h.GroupID, h.GroupName, h.LastLoggedInUser
	v.Created, v.FirstSeen, v.LastSeen = millisPtr(h.CreatedAt), millisPtr(h.RegisteredAt), millisPtr(h.LastActive)
	v.Modified, v.Boot = millisPtr(h.UpdatedAt), millisPtr(h.LastBoot)
	managed := !h.IsDecommissioned && !h.IsUninstalled
	v.Managed = &managed
}

func millisPtr(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// firstOfList is the first non-empty element of a comma-separated list.
func firstOfList(s string) string {
	for {
		f, rest, more := strings.Cut(s, ",")
		if f = strings.TrimSpace(f); f != "" || !more {
			return f
		}
		s = rest
	}
}

// device builds the OCSF device; nil when nothing identifies it.
func (v *hostView) device() *device {
	d := &device{
		UID: v.UID, UIDAlt: v.UIDAlt, Name: v.Name, Hostname: v.Hostname, Domain: v.Domain,
		IP: v.IP, MAC: normalizeMAC(v.MAC), InterfaceName: v.InterfaceName, Region: v.Region,
		VendorName: v.Vendor, Model: v.Model, NetworkInterfaces: v.Interfaces, IsManaged: v.Managed,
		CreatedTime: v.Created, FirstSeenTime: v.FirstSeen, LastSeenTime: v.LastSeen, ModifiedTime: v.Modified, BootTime: v.Boot,
	}
	if d.UID == "" && d.Name == "" && d.Hostname == "" && d.IP == "" && d.InterfaceName == "" {
		return nil
	}
	d.TypeID, d.Type = deviceType(v.MachineType, v.TypeHint)
	bits, archID, arch := archBits(v.OSArch)
	if name := firstNonEmpty(v.OSName, v.OSType); name != "" {
		os := &deviceOS{Name: name, Version: v.OSVersion, Build: v.OSBuild, CPUBits: bits}
		os.TypeID, os.Type = osType(v.OSType)
		d.OS = os
	}
	hw := hwInfo{
		CPUType: v.CPUType, CPUCount: v.CPUCount, CPUCores: v.CoreCount, CPUBits: bits,
		CPUArchitectureID: archID, CPUArchitecture: arch, RAMSize: v.RAMMB, SerialNumber: v.Serial, VendorName: v.Vendor,
	}
	if hw != (hwInfo{}) {
		d.HWInfo = &hw
	}
	if v.AgentID != "" || v.AgentUUID != "" {
		d.AgentList = []agent{{
			Name: ProductName, UID: v.AgentID, UIDAlt: v.AgentUUID, TypeID: 1, Type: "Endpoint Detection and Response",
			VendorName: VendorName, Version: v.AgentVersion,
		}}
	}
	if g := (group{UID: v.GroupID, Name: v.GroupName}); g.UID != "" || g.Name != "" {
		g.Type = "SentinelOne group"
		d.Groups = []group{g}
	}
	if org := (organization{UID: v.AccountID, Name: v.AccountName, OUUID: v.SiteID, OUName: v.SiteName}); org.UID != "" || org.Name != "" {
		d.Org = &org
	}
	if v.Owner != "" {
		d.Owner = &user{Name: v.Owner}
	}
	return d
}

// resource is the device as a resources[] entry (2002 findings); nil without a uid or name.
func (v *hostView) resource(d *device) *resourceDetails {
	if d == nil || (d.UID == "" && d.Hostname == "") {
		return nil
	}
	r := &resourceDetails{UID: d.UID, UIDAlt: d.UIDAlt, Name: d.Hostname, Hostname: d.Hostname, IP: d.IP, Type: "Endpoint", AgentList: d.AgentList}
	if len(d.Groups) > 0 {
		g := d.Groups[0]
		r.Group = &g
	}
	return r
}

// ---- XDR assets (/xdr/assets) ----

// s1XDRAsset is the /web/api/v2.1/xdr/assets item (reference §6.9, purple-mcp
// InventoryItem wire names).
type s1XDRAsset struct {
	ID                     FlexString      `json:"id"`
	IDSecondary            FlexStrings     `json:"idSecondary"`
	Name                   FlexString      `json:"name"`
	Tags                   json.RawMessage `json:"tags"`
	Category               FlexString      `json:"category"`
	SubCategory            FlexString      `json:"subCategory"`
	ResourceType           FlexString      `json:"resourceType"`
	Surfaces               FlexStrings     `json:"surfaces"`
	AssetStatus            FlexString      `json:"assetStatus"`
	AssetCriticality       FlexString      `json:"assetCriticality"`
	AssetEnvironment       FlexString      `json:"assetEnvironment"`
	AssetContactEmail      FlexString      `json:"assetContactEmail"`
	InfectionStatus        FlexString      `json:"infectionStatus"`
	LastActiveDt           FlexTime        `json:"lastActiveDt"`
	ActiveCoverage         FlexStrings     `json:"activeCoverage"`
	MissingCoverage        FlexStrings     `json:"missingCoverage"`
	RiskFactors            FlexStrings     `json:"riskFactors"`
	DeviceReview           json.RawMessage `json:"deviceReview"`
	Notes                  json.RawMessage `json:"notes"`
	Domain                 FlexString      `json:"domain"`
	Hostnames              FlexStrings     `json:"hostnames"`
	InternalIPs            FlexStrings     `json:"internalIps"`
	InternalIPsV6          FlexStrings     `json:"internalIpsV6"`
	IPAddress              FlexString      `json:"ipAddress"`
	MACAddresses           FlexStrings     `json:"macAddresses"`
	GatewayIPs             FlexStrings     `json:"gatewayIps"`
	GatewayMACs            FlexStrings     `json:"gatewayMacs"`
	Subnets                FlexStrings     `json:"subnets"`
	NetworkInterfaces      []s1XDRNic      `json:"networkInterfaces"`
	OS                     FlexString      `json:"os"`
	OSFamily               FlexString      `json:"osFamily"`
	OSVersion              FlexString      `json:"osVersion"`
	OSNameVersion          FlexString      `json:"osNameVersion"`
	Architecture           FlexString      `json:"architecture"`
	CoreCount              FlexInt         `json:"coreCount"`
	Memory                 FlexInt         `json:"memory"` // bytes
	MemoryReadable         FlexString      `json:"memoryReadable"`
	CPU                    FlexString      `json:"cpu"`
	SerialNumber           FlexString      `json:"serialNumber"`
	ModelName              FlexString      `json:"modelName"`
	Manufacturer           FlexString      `json:"manufacturer"`
	LastRebootDt           FlexTime        `json:"lastRebootDt"`
	FirstSeenDt            FlexTime        `json:"firstSeenDt"`
	LastUpdateDt           FlexTime        `json:"lastUpdateDt"`
	Agent                  *s1XDRAgent     `json:"agent"`
	Identity               json.RawMessage `json:"identity"`
	IsAdConnector          FlexBool        `json:"isAdConnector"`
	IsDcServer             FlexBool        `json:"isDcServer"`
	OSUsername             FlexString      `json:"osUsername"`
	S1AccountID            FlexString      `json:"s1AccountId"`
	S1AccountName          FlexString      `json:"s1AccountName"`
	S1SiteID               FlexString      `json:"s1SiteId"`
	S1SiteName             FlexString      `json:"s1SiteName"`
	S1GroupID              FlexString      `json:"s1GroupId"`
	S1GroupName            FlexString      `json:"s1GroupName"`
	S1UpdatedAt            FlexTime        `json:"s1UpdatedAt"`
	S1ScopeID              FlexString      `json:"s1ScopeId"`
	S1ScopeLevel           FlexString      `json:"s1ScopeLevel"`
	S1ScopePath            FlexString      `json:"s1ScopePath"`
	S1ManagementID         FlexString      `json:"s1ManagementId"`
	CloudProviderAccountID FlexString      `json:"cloudProviderAccountId"`
	CloudResourceID        FlexString      `json:"cloudResourceId"`
	Region                 FlexString      `json:"region"`
	Alerts                 json.RawMessage `json:"alerts"`
	AlertsCount            json.RawMessage `json:"alertsCount"`
}

type s1XDRNic struct {
	Name        FlexString  `json:"name,omitempty"`
	IP          FlexStrings `json:"ip,omitempty"`
	MAC         FlexString  `json:"mac,omitempty"`
	GatewayIP   FlexString  `json:"gatewayIp,omitempty"`
	GatewayMAC  FlexString  `json:"gatewayMac,omitempty"`
	NetworkName FlexString  `json:"networkName,omitempty"`
	Subnet      FlexString  `json:"subnet,omitempty"`
}

type s1XDRAgent struct {
	ID                  FlexString `json:"id"`
	UUID                FlexString `json:"uuid"`
	AgentVersion        FlexString `json:"agentVersion"`
	ConsoleConnectivity FlexString `json:"consoleConnectivity"`
	IsDecommissioned    FlexBool   `json:"isDecommissioned"`
	MitigationMode      FlexString `json:"mitigationMode"`
	NetworkStatus       FlexString `json:"networkStatus"`
	OperationalState    FlexString `json:"operationalState"`
}

// XDRAssetRow is the flat row of one XDR asset: Qualys ETM's "SentinelOne Host Asset
// Transformation Map" (seeds/000), whose sources are the asset list (id, cpu,
// lastRebootDt, serialNumber) and the joined agent (agentInfo.*). Each column takes the
// source the Qualys map names and falls back to the other one; the asset's own inventory
// columns follow.
//
// Types are what database/sql writes directly: string ("" = absent), int64, bool,
// *time.Time (nil = NULL). Lists are comma-separated, de-duplicated, in source order; Tags
// is JSON text `[{"key":"k","value":"v"}]` ("[]" when none).
type XDRAssetRow struct {
	AssetID             string     `db:"asset_id" json:"assetId"`                         // id → externalAssetId
	AgentID             string     `db:"agent_id" json:"agentId"`                         // agent.id (else the joined agent's id)
	AgentUUID           string     `db:"agent_uuid" json:"agentUuid"`                     // agent.uuid (else the joined agent's uuid)
	AgentJoined         bool       `db:"agent_joined" json:"agentJoined"`                 // an agent row was joined
	HostName            string     `db:"host_name" json:"hostName"`                       // agentInfo.computerName → hostName (else name, hostnames[0])
	Processor           string     `db:"processor" json:"processor"`                      // cpu → processorDescription (else agent cpuId)
	LastBoot            *time.Time `db:"last_boot" json:"lastBoot"`                       // lastRebootDt → lastBoot (else agent osStartTime)
	SerialNumber        string     `db:"serial_number" json:"serialNumber"`               // serialNumber → serialNumber (else agent)
	CPUCount            int64      `db:"cpu_count" json:"cpuCount"`                       // agentInfo.cpuCount → numberOfCpu
	CoreCount           int64      `db:"core_count" json:"coreCount"`                     // coreCount (else agent)
	IPAddress           string     `db:"ip_address" json:"ipAddress"`                     // agentInfo.externalIp → ipAddress (else ipAddress)
	IPAddresses         string     `db:"ip_addresses" json:"ipAddresses"`                 // internalIps + internalIpsV6 (else agent interfaces)
	Model               string     `db:"model" json:"model"`                              // agentInfo.modelName → model (else modelName)
	Manufacturer        string     `db:"manufacturer" json:"manufacturer"`                // manufacturer (else agent)
	Gateway             string     `db:"gateway" json:"gateway"`                          // agentInfo.networkInterfaces[].gatewayIp → gatewayAddress (else gatewayIps)
	InterfaceName       string     `db:"interface_name" json:"interfaceName"`             // agentInfo.networkInterfaces[].name → interfaceName (else networkInterfaces[].name)
	MACAddress          string     `db:"mac_address" json:"macAddress"`                   // agentInfo.networkInterfaces[].physical → macAddress (else macAddresses)
	OSArch              string     `db:"os_arch" json:"osArch"`                           // agentInfo.osArch → operatingSystemArchitecture (else architecture)
	OSName              string     `db:"os_name" json:"osName"`                           // agentInfo.osName → operatingSystemName (else os)
	OSVersion           string     `db:"os_version" json:"osVersion"`                     // agentInfo.osRevision → operatingSystemVersion (else osVersion)
	OSFamily            string     `db:"os_family" json:"osFamily"`                       // osFamily (Windows, macOS, Linux)
	TotalMemoryMB       int64      `db:"total_memory_mb" json:"totalMemoryMb"`            // agentInfo.totalMemory → biosInfoTotalMemory (else memory bytes / 2^20)
	Domain              string     `db:"domain" json:"domain"`                            // domain (else agent)
	Category            string     `db:"category" json:"category"`                        // category
	SubCategory         string     `db:"sub_category" json:"subCategory"`                 // subCategory
	ResourceType        string     `db:"resource_type" json:"resourceType"`               // resourceType
	Surfaces            string     `db:"surfaces" json:"surfaces"`                        // surfaces[]
	AssetStatus         string     `db:"asset_status" json:"assetStatus"`                 // assetStatus
	AssetCriticality    string     `db:"asset_criticality" json:"assetCriticality"`       // assetCriticality
	AssetEnvironment    string     `db:"asset_environment" json:"assetEnvironment"`       // assetEnvironment
	InfectionStatus     string     `db:"infection_status" json:"infectionStatus"`         // infectionStatus
	ActiveCoverage      string     `db:"active_coverage" json:"activeCoverage"`           // activeCoverage[]
	MissingCoverage     string     `db:"missing_coverage" json:"missingCoverage"`         // missingCoverage[]
	RiskFactors         string     `db:"risk_factors" json:"riskFactors"`                 // riskFactors[]
	AgentVersion        string     `db:"agent_version" json:"agentVersion"`               // agent.agentVersion (else joined agent)
	ConsoleConnectivity string     `db:"console_connectivity" json:"consoleConnectivity"` // agent.consoleConnectivity
	NetworkStatus       string     `db:"network_status" json:"networkStatus"`             // agent.networkStatus (else joined agent)
	IsDecommissioned    bool       `db:"is_decommissioned" json:"isDecommissioned"`       // agent.isDecommissioned (else joined agent)
	AccountID           string     `db:"account_id" json:"accountId"`                     // s1AccountId (else agent)
	AccountName         string     `db:"account_name" json:"accountName"`                 // s1AccountName
	SiteID              string     `db:"site_id" json:"siteId"`                           // s1SiteId
	SiteName            string     `db:"site_name" json:"siteName"`                       // s1SiteName
	GroupID             string     `db:"group_id" json:"groupId"`                         // s1GroupId
	GroupName           string     `db:"group_name" json:"groupName"`                     // s1GroupName
	Tags                string     `db:"tags" json:"tags"`                                // tags[] as JSON text
	FirstSeen           *time.Time `db:"first_seen" json:"firstSeen"`                     // firstSeenDt
	LastActive          *time.Time `db:"last_active" json:"lastActive"`                   // lastActiveDt (else agent lastActiveDate)
	LastUpdate          *time.Time `db:"last_update" json:"lastUpdate"`                   // lastUpdateDt
	S1UpdatedAt         *time.Time `db:"s1_updated_at" json:"s1UpdatedAt"`                // s1UpdatedAt
}

// XDRAssetRecord is the result of XDRAsset: an OCSF 5001 event and an XDRAssetRow.
type XDRAssetRecord = Record[XDRAssetRow]

var xdrAssetColumns = dbColumns(reflect.TypeFor[XDRAssetRow]())

// XDRAssetColumns returns the db tag names of XDRAssetRow in struct order (a copy).
func XDRAssetColumns() []string { return append([]string(nil), xdrAssetColumns...) }

// Values returns the row's values in XDRAssetColumns order.
func (r *XDRAssetRow) Values() []any {
	return []any{
		r.AssetID, r.AgentID, r.AgentUUID, r.AgentJoined, r.HostName, r.Processor, r.LastBoot, r.SerialNumber,
		r.CPUCount, r.CoreCount, r.IPAddress, r.IPAddresses, r.Model, r.Manufacturer, r.Gateway, r.InterfaceName,
		r.MACAddress, r.OSArch, r.OSName, r.OSVersion, r.OSFamily, r.TotalMemoryMB, r.Domain, r.Category,
		r.SubCategory, r.ResourceType, r.Surfaces, r.AssetStatus, r.AssetCriticality, r.AssetEnvironment,
		r.InfectionStatus, r.ActiveCoverage, r.MissingCoverage, r.RiskFactors, r.AgentVersion,
		r.ConsoleConnectivity, r.NetworkStatus, r.IsDecommissioned, r.AccountID, r.AccountName, r.SiteID,
		r.SiteName, r.GroupID, r.GroupName, r.Tags, r.FirstSeen, r.LastActive, r.LastUpdate, r.S1UpdatedAt,
	}
}

type xdrInventoryEvent struct {
	baseEvent
	Device   device       `json:"device"`
	Unmapped *xdrUnmapped `json:"unmapped,omitempty"`
}

type xdrUnmapped struct {
	SentinelOne *xdrExtras `json:"sentinelone,omitempty"`
}

// xdrExtras are the asset fields with no OCSF home, under console names.
type xdrExtras struct {
	IDSecondary            []string        `json:"idSecondary,omitempty"`
	Category               string          `json:"category,omitempty"`
	SubCategory            string          `json:"subCategory,omitempty"`
	ResourceType           string          `json:"resourceType,omitempty"`
	Surfaces               []string        `json:"surfaces,omitempty"`
	AssetStatus            string          `json:"assetStatus,omitempty"`
	AssetCriticality       string          `json:"assetCriticality,omitempty"`
	AssetEnvironment       string          `json:"assetEnvironment,omitempty"`
	AssetContactEmail      string          `json:"assetContactEmail,omitempty"`
	InfectionStatus        string          `json:"infectionStatus,omitempty"`
	ActiveCoverage         []string        `json:"activeCoverage,omitempty"`
	MissingCoverage        []string        `json:"missingCoverage,omitempty"`
	RiskFactors            []string        `json:"riskFactors,omitempty"`
	DeviceReview           json.RawMessage `json:"deviceReview,omitempty"`
	Notes                  json.RawMessage `json:"notes,omitempty"`
	Hostnames              []string        `json:"hostnames,omitempty"`
	InternalIPs            []string        `json:"internalIps,omitempty"`
	InternalIPsV6          []string        `json:"internalIpsV6,omitempty"`
	IPAddress              string          `json:"ipAddress,omitempty"`
	MACAddresses           []string        `json:"macAddresses,omitempty"`
	GatewayIPs             []string        `json:"gatewayIps,omitempty"`
	GatewayMACs            []string        `json:"gatewayMacs,omitempty"`
	Subnets                []string        `json:"subnets,omitempty"`
	NetworkInterfaces      []s1XDRNic      `json:"networkInterfaces,omitempty"`
	OSFamily               string          `json:"osFamily,omitempty"`
	OSNameVersion          string          `json:"osNameVersion,omitempty"`
	MemoryReadable         string          `json:"memoryReadable,omitempty"`
	Memory                 *int64          `json:"memory,omitempty"`
	Agent                  *s1XDRAgentOut  `json:"agent,omitempty"`
	Identity               json.RawMessage `json:"identity,omitempty"`
	IsAdConnector          *bool           `json:"isAdConnector,omitempty"`
	IsDcServer             *bool           `json:"isDcServer,omitempty"`
	S1SiteID               string          `json:"s1SiteId,omitempty"`   // only when there is no account (device.org needs one)
	S1SiteName             string          `json:"s1SiteName,omitempty"` // idem
	S1ScopeID              string          `json:"s1ScopeId,omitempty"`
	S1ScopeLevel           string          `json:"s1ScopeLevel,omitempty"`
	S1ScopePath            string          `json:"s1ScopePath,omitempty"`
	S1ManagementID         string          `json:"s1ManagementId,omitempty"`
	S1UpdatedAt            string          `json:"s1UpdatedAt,omitempty"`
	CloudProviderAccountID string          `json:"cloudProviderAccountId,omitempty"`
	CloudResourceID        string          `json:"cloudResourceId,omitempty"`
	Alerts                 json.RawMessage `json:"alerts,omitempty"`
	AlertsCount            json.RawMessage `json:"alertsCount,omitempty"`
}

type s1XDRAgentOut struct {
	ID                  string `json:"id,omitempty"`
	UUID                string `json:"uuid,omitempty"`
	AgentVersion        string `json:"agentVersion,omitempty"`
	ConsoleConnectivity string `json:"consoleConnectivity,omitempty"`
	IsDecommissioned    *bool  `json:"isDecommissioned,omitempty"`
	MitigationMode      string `json:"mitigationMode,omitempty"`
	NetworkStatus       string `json:"networkStatus,omitempty"`
	OperationalState    string `json:"operationalState,omitempty"`
}

// XDRAsset transforms one /xdr/assets item into an OCSF 5001 Device Inventory Info event
// and an XDRAssetRow, joined with the agent row of agent.id when known (agent nil: asset
// fields only). Key is the asset id; UpdatedAt is s1UpdatedAt (else lastUpdateDt). raw is
// hashed exactly as received.
func XDRAsset(raw json.RawMessage, m Meta, agent *HostAsset) (*XDRAssetRecord, error) {
	var a s1XDRAsset
	if err := fastjson.Unmarshal(raw, &a); err != nil {
		return nil, decodeError("xdr asset", err)
	}
	id := a.ID.String()
	if id == "" {
		return nil, errors.New(`ocsf: xdr asset: missing required field "id"`)
	}
	tags, err := parseTags(a.Tags)
	if err != nil {
		return nil, fmt.Errorf("ocsf: xdr asset %s: field %q: %w", id, "tags", err)
	}
	if a.Agent == nil {
		a.Agent = &s1XDRAgent{}
	}
	for i := range a.NetworkInterfaces {
		a.NetworkInterfaces[i].MAC = FlexString(normalizeMAC(a.NetworkInterfaces[i].MAC.String()))
	}
	hash := HashRaw(raw)
	rec := &XDRAssetRecord{Key: id, UpdatedAt: firstTime(a.S1UpdatedAt, a.LastUpdateDt).Time, Hash: hash}
	fillXDRRow(&rec.Flat, &a, id, tags, agent)
	ev := buildXDREvent(&a, &rec.Flat, tags, hash, m, agent)
	b, err := fastjson.Marshal(ev)
	if err != nil { // unreachable with these types
		return nil, fmt.Errorf("ocsf: xdr asset %s: encode event: %w", id, err)
	}
	rec.Event = b
	return rec, nil
}

func joinUnique(lists ...[]string) string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			out = appendUnique(out, strings.TrimSpace(s))
		}
	}
	return strings.Join(out, ",")
}

func timeOr(t FlexTime, fallback *time.Time) *time.Time {
	if p := t.Ptr(); p != nil {
		return p
	}
	return fallback
}

func fillXDRRow(r *XDRAssetRow, a *s1XDRAsset, id string, tags []s1Tag, h *HostAsset) {
	var nicNames, nicGWs, nicMACs, nicIPs []string
	for _, n := range a.NetworkInterfaces {
		nicNames = appendUnique(nicNames, n.Name.String())
		nicGWs = appendUnique(nicGWs, n.GatewayIP.String())
		nicMACs = appendUnique(nicMACs, n.MAC.String())
		for _, ip := range n.IP {
			nicIPs = appendUnique(nicIPs, ip)
		}
	}
	macs := make([]string, 0, len(a.MACAddresses))
	for _, m := range a.MACAddresses {
		macs = append(macs, normalizeMAC(m))
	}
	mem := int64(0)
	if a.Memory.Value > 0 {
		mem = a.Memory.Value >> 20
	}
	tagText := "[]"
	if len(tags) > 0 {
		ft := make([]flatTag, len(tags))
		for i, t := range tags {
			ft[i] = flatTag{Key: t.Key.String(), Value: t.Value.String()}
		}
		if b, err := fastjson.Marshal(ft); err == nil {
			tagText = string(b)
		}
	}
	*r = XDRAssetRow{
		AssetID:             id,
		AgentID:             a.Agent.ID.String(),
		AgentUUID:           a.Agent.UUID.String(),
		HostName:            firstNonEmpty(a.Name.String(), firstOf(a.Hostnames)),
		Processor:           a.CPU.String(),
		LastBoot:            a.LastRebootDt.Ptr(),
		SerialNumber:        a.SerialNumber.String(),
		CoreCount:           a.CoreCount.Value,
		IPAddress:           a.IPAddress.String(),
		IPAddresses:         joinUnique(a.InternalIPs, a.InternalIPsV6, nicIPs),
		Model:               a.ModelName.String(),
		Manufacturer:        a.Manufacturer.String(),
		Gateway:             joinUnique(nicGWs, a.GatewayIPs),
		InterfaceName:       strings.Join(nicNames, ","),
		MACAddress:          joinUnique(nicMACs, macs),
		OSArch:              a.Architecture.String(),
		OSName:              firstNonEmpty(a.OS.String(), a.OSNameVersion.String()),
		OSVersion:           a.OSVersion.String(),
		OSFamily:            a.OSFamily.String(),
		TotalMemoryMB:       mem,
		Domain:              a.Domain.String(),
		Category:            a.Category.String(),
		SubCategory:         a.SubCategory.String(),
		ResourceType:        a.ResourceType.String(),
		Surfaces:            joinUnique(a.Surfaces),
		AssetStatus:         a.AssetStatus.String(),
		AssetCriticality:    a.AssetCriticality.String(),
		AssetEnvironment:    a.AssetEnvironment.String(),
		InfectionStatus:     a.InfectionStatus.String(),
		ActiveCoverage:      joinUnique(a.ActiveCoverage),
		MissingCoverage:     joinUnique(a.MissingCoverage),
		RiskFactors:         joinUnique(a.RiskFactors),
		AgentVersion:        a.Agent.AgentVersion.String(),
		ConsoleConnectivity: a.Agent.ConsoleConnectivity.String(),
		NetworkStatus:       a.Agent.NetworkStatus.String(),
		IsDecommissioned:    a.Agent.IsDecommissioned.Value,
		AccountID:           a.S1AccountID.String(),
		AccountName:         a.S1AccountName.String(),
		SiteID:              a.S1SiteID.String(),
		SiteName:            a.S1SiteName.String(),
		GroupID:             a.S1GroupID.String(),
		GroupName:           a.S1GroupName.String(),
		Tags:                tagText,
		FirstSeen:           a.FirstSeenDt.Ptr(),
		LastActive:          a.LastActiveDt.Ptr(),
		LastUpdate:          a.LastUpdateDt.Ptr(),
		S1UpdatedAt:         a.S1UpdatedAt.Ptr(),
	}
	if h == nil {
		return
	}
	// Qualys map: agentInfo.* wins; the asset's own value is the fallback.
	r.AgentJoined = true
	r.AgentID = firstNonEmpty(r.AgentID, h.AgentID)
	r.AgentUUID = firstNonEmpty(r.AgentUUID, h.UUID)
	r.HostName = firstNonEmpty(h.Hostname, r.HostName)
	r.Processor = firstNonEmpty(r.Processor, h.Processor)
	r.LastBoot = timeOr(a.LastRebootDt, h.LastBoot)
	r.SerialNumber = firstNonEmpty(r.SerialNumber, h.SerialNumber)
	r.CPUCount = h.CPUCount
	if r.CoreCount == 0 {
		r.CoreCount = h.CoreCount
	}
	r.IPAddress = firstNonEmpty(h.ExternalIP, r.IPAddress)
	r.IPAddresses = firstNonEmpty(r.IPAddresses, h.IPAddresses)
	r.Model = firstNonEmpty(h.Model, r.Model)
	r.Manufacturer = firstNonEmpty(r.Manufacturer, h.Manufacturer)
	r.Gateway = firstNonEmpty(h.Gateway, r.Gateway)
	r.InterfaceName = firstNonEmpty(h.InterfaceName, r.InterfaceName)
	r.MACAddress = firstNonEmpty(h.MACAddress, r.MACAddress)
	r.OSArch = firstNonEmpty(h.OSArch, r.OSArch)
	r.OSName = firstNonEmpty(h.OSName, r.OSName)
	r.OSVersion = firstNonEmpty(h.OSVersion, r.OSVersion)
	if h.TotalMemoryMB > 0 {
		r.TotalMemoryMB = h.TotalMemoryMB
	}
	r.Domain = firstNonEmpty(r.Domain, h.Domain)
	r.AgentVersion = firstNonEmpty(r.AgentVersion, h.AgentVersion)
	r.NetworkStatus = firstNonEmpty(r.NetworkStatus, h.NetworkStatus)
	if !a.Agent.IsDecommissioned.Valid {
		r.IsDecommissioned = h.IsDecommissioned
	}
	if r.AccountID == "" && r.AccountName == "" {
		r.AccountID, r.AccountName = h.AccountID, h.AccountName
	}
	if r.SiteID == "" && r.SiteName == "" {
		r.SiteID, r.SiteName = h.SiteID, h.SiteName
	}
	if r.GroupID == "" && r.GroupName == "" {
		r.GroupID, r.GroupName = h.GroupID, h.GroupName
	}
	r.LastActive = timeOr(a.LastActiveDt, h.LastActive)
}

func firstOf(l FlexStrings) string {
	if len(l) > 0 {
		return l[0]
	}
	return ""
}

// xdrOSType maps osFamily (Windows, macOS, Linux) to the agent osType words osType() reads.
func xdrOSType(family, agentOSType string) string {
	if agentOSType != "" {
		return agentOSType
	}
	return strings.ToLower(family)
}

func buildXDREvent(a *s1XDRAsset, r *XDRAssetRow, tags []s1Tag, hash string, m Meta, h *HostAsset) *xdrInventoryEvent {
	ts := firstTime(a.S1UpdatedAt, a.LastUpdateDt, a.LastActiveDt).Millis()
	if ts == 0 && !m.Now.IsZero() {
		ts = m.Now.UnixMilli()
	}
	ev := &xdrInventoryEvent{baseEvent: baseEvent{
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
		Metadata: newMetadata(m, StreamXDRAssets, r.AssetID, hash, r.AccountID,
			firstTime(a.S1UpdatedAt, a.LastUpdateDt).ISO(), xdrMapping),
	}}
	for _, t := range tags {
		ev.Metadata.Tags = append(ev.Metadata.Tags, keyValue{Name: t.Key.String(), Value: t.Value.String()})
	}

	v := hostView{
		UID: r.AssetID, UIDAlt: firstNonEmpty(firstOf(a.IDSecondary), r.AgentUUID), Name: firstNonEmpty(a.Name.String(), r.HostName),
		Hostname: r.HostName, Domain: r.Domain, Region: a.Region.String(),
		IP: firstNonEmpty(firstOfList(r.IPAddresses), r.IPAddress), MAC: firstOfList(r.MACAddress),
		InterfaceName: firstOfList(r.InterfaceName), Model: r.Model, Vendor: r.Manufacturer,
		OSName: r.OSName, OSVersion: r.OSVersion, OSBuild: r.OSVersion, OSArch: r.OSArch,
		TypeHint: firstNonEmpty(a.Category.String(), a.ResourceType.String()),
		CPUType:  r.Processor, Serial: r.SerialNumber, CPUCount: r.CPUCount, CoreCount: r.CoreCount, RAMMB: r.TotalMemoryMB,
		AgentID: r.AgentID, AgentUUID: r.AgentUUID, AgentVersion: r.AgentVersion,
		AccountID: r.AccountID, AccountName: r.AccountName, SiteID: r.SiteID, SiteName: r.SiteName,
		GroupID: r.GroupID, GroupName: r.GroupName, Owner: a.OSUsername.String(),
		FirstSeen: a.FirstSeenDt.Millis(), LastSeen: millisPtr(r.LastActive), Modified: a.LastUpdateDt.Millis(),
		Boot: millisPtr(r.LastBoot),
	}
	agentOS := ""
	if h != nil {
		agentOS = h.OSType
		v.MachineType = h.MachineType
		if v.Owner == "" {
			v.Owner = h.LastLoggedInUser
		}
		if v.Created == 0 {
			v.Created = millisPtr(h.CreatedAt)
		}
	}
	v.OSType = xdrOSType(r.OSFamily, agentOS)
	if r.AgentID != "" || r.AgentUUID != "" {
		managed := !r.IsDecommissioned
		v.Managed = &managed
	} else {
		managed := false
		v.Managed = &managed
	}
	for _, n := range a.NetworkInterfaces {
		ni := networkInterface{Name: n.Name.String(), MAC: n.MAC.String(), IP: firstOf(n.IP)}
		if ni != (networkInterface{}) {
			v.Interfaces = append(v.Interfaces, ni)
		}
	}
	if d := v.device(); d != nil { // never nil: the uid is the asset id
		ev.Device = *d
	}

	x := &xdrExtras{
		IDSecondary:            strs(a.IDSecondary),
		Category:               a.Category.String(),
		SubCategory:            a.SubCategory.String(),
		ResourceType:           a.ResourceType.String(),
		Surfaces:               strs(a.Surfaces),
		AssetStatus:            a.AssetStatus.String(),
		AssetCriticality:       a.AssetCriticality.String(),
		AssetEnvironment:       a.AssetEnvironment.String(),
		AssetContactEmail:      a.AssetContactEmail.String(),
		InfectionStatus:        a.InfectionStatus.String(),
		ActiveCoverage:         strs(a.ActiveCoverage),
		MissingCoverage:        strs(a.MissingCoverage),
		RiskFactors:            strs(a.RiskFactors),
		DeviceReview:           rawOrNil(a.DeviceReview),
		Notes:                  rawOrNil(a.Notes),
		Hostnames:              strs(a.Hostnames),
		InternalIPs:            strs(a.InternalIPs),
		InternalIPsV6:          strs(a.InternalIPsV6),
		IPAddress:              a.IPAddress.String(),
		MACAddresses:           strs(a.MACAddresses),
		GatewayIPs:             strs(a.GatewayIPs),
		GatewayMACs:            strs(a.GatewayMACs),
		Subnets:                strs(a.Subnets),
		NetworkInterfaces:      a.NetworkInterfaces,
		OSFamily:               a.OSFamily.String(),
		OSNameVersion:          a.OSNameVersion.String(),
		MemoryReadable:         a.MemoryReadable.String(),
		Memory:                 a.Memory.Ptr(),
		Identity:               rawOrNil(a.Identity),
		IsAdConnector:          a.IsAdConnector.Ptr(),
		IsDcServer:             a.IsDcServer.Ptr(),
		S1ScopeID:              a.S1ScopeID.String(),
		S1ScopeLevel:           a.S1ScopeLevel.String(),
		S1ScopePath:            a.S1ScopePath.String(),
		S1ManagementID:         a.S1ManagementID.String(),
		S1UpdatedAt:            a.S1UpdatedAt.ISO(),
		CloudProviderAccountID: a.CloudProviderAccountID.String(),
		CloudResourceID:        a.CloudResourceID.String(),
		Alerts:                 rawOrNil(a.Alerts),
		AlertsCount:            rawOrNil(a.AlertsCount),
	}
	ag := &s1XDRAgentOut{
		ID: a.Agent.ID.String(), UUID: a.Agent.UUID.String(), AgentVersion: a.Agent.AgentVersion.String(),
		ConsoleConnectivity: a.Agent.ConsoleConnectivity.String(), IsDecommissioned: a.Agent.IsDecommissioned.Ptr(),
		MitigationMode: a.Agent.MitigationMode.String(), NetworkStatus: a.Agent.NetworkStatus.String(),
		OperationalState: a.Agent.OperationalState.String(),
	}
	if *ag != (s1XDRAgentOut{}) {
		x.Agent = ag
	}
	if ev.Device.Org == nil {
		x.S1SiteID, x.S1SiteName = r.SiteID, r.SiteName
	}
	if !reflect.ValueOf(x).Elem().IsZero() {
		ev.Unmapped = &xdrUnmapped{SentinelOne: x}
	}
	return ev
}
