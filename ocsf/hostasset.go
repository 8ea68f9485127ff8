package ocsf

import (
	"reflect"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// HostAsset is the flat row of one agent: Qualys ETM's "SentinelOne Host Asset
// Transformation Map" (seeds/000; the Qualys target field is named in each comment),
// plus what Praetorian shows (seeds/003: agent version, agent status, machine type, last
// active, site, group), account and tags.
//
// Types are what database/sql writes directly: string ("" = absent), int64 (0 = absent),
// bool, *time.Time (nil = NULL). Lists are comma-separated (IPs, MACs, gateways,
// interface names, in interface order, de-duplicated); Tags is JSON text
// `[{"key":"k","value":"v"}]` ("[]" when none). The row carries no connection id: the
// store adds its own.
type HostAsset struct {
	AgentID          string     `db:"agent_id" json:"agentId"`                     // id → externalAssetId
	UUID             string     `db:"uuid" json:"uuid"`                            // agentInfo.uuid → uuid
	Hostname         string     `db:"hostname" json:"hostname"`                    // agentInfo.computerName → hostName
	Processor        string     `db:"processor" json:"processor"`                  // cpu / agentInfo.cpuId → processorDescription
	LastBoot         *time.Time `db:"last_boot" json:"lastBoot"`                   // lastRebootDt (agent: osStartTime) → lastBoot
	SerialNumber     string     `db:"serial_number" json:"serialNumber"`           // serialNumber → serialNumber
	CPUCount         int64      `db:"cpu_count" json:"cpuCount"`                   // agentInfo.cpuCount → numberOfCpu
	CoreCount        int64      `db:"core_count" json:"coreCount"`                 // coreCount (not in the Qualys map)
	IPAddresses      string     `db:"ip_addresses" json:"ipAddresses"`             // networkInterfaces[].inet+inet6 (Praetorian "IP Addresses")
	ExternalIP       string     `db:"external_ip" json:"externalIp"`               // agentInfo.externalIp → ipAddress
	Model            string     `db:"model" json:"model"`                          // agentInfo.modelName → model
	Manufacturer     string     `db:"manufacturer" json:"manufacturer"`            // manufacturer (XDR assets / Sekoia shape; agents rarely send it)
	Gateway          string     `db:"gateway" json:"gateway"`                      // agentInfo.networkInterfaces[].gatewayIp → gatewayAddress
	InterfaceName    string     `db:"interface_name" json:"interfaceName"`         // agentInfo.networkInterfaces[].name → interfaceName
	MACAddress       string     `db:"mac_address" json:"macAddress"`               // agentInfo.networkInterfaces[].physical → macAddress
	OSArch           string     `db:"os_arch" json:"osArch"`                       // agentInfo.osArch → operatingSystemArchitecture
	OSName           string     `db:"os_name" json:"osName"`                       // agentInfo.osName → operatingSystemName
	OSVersion        string     `db:"os_version" json:"osVersion"`                 // agentInfo.osRevision → operatingSystemVersion
	OSType           string     `db:"os_type" json:"osType"`                       // osType (Praetorian "OS Type")
	TotalMemoryMB    int64      `db:"total_memory_mb" json:"totalMemoryMb"`        // agentInfo.totalMemory (MB) → biosInfoTotalMemory
	Domain           string     `db:"domain" json:"domain"`                        // domain
	AgentVersion     string     `db:"agent_version" json:"agentVersion"`           // agentVersion (Praetorian "Agent Version")
	AgentStatus      string     `db:"agent_status" json:"agentStatus"`             // derived: active/inactive/decommissioned/uninstalled (Praetorian "Agent Status")
	NetworkStatus    string     `db:"network_status" json:"networkStatus"`         // networkStatus (connected, disconnected, …)
	MachineType      string     `db:"machine_type" json:"machineType"`             // machineType (Praetorian "Machine Type")
	LastActive       *time.Time `db:"last_active" json:"lastActive"`               // lastActiveDate (Praetorian "Last Active")
	LastLoggedInUser string     `db:"last_logged_in_user" json:"lastLoggedInUser"` // lastLoggedInUserName
	SiteID           string     `db:"site_id" json:"siteId"`                       // siteId (Praetorian "Site")
	SiteName         string     `db:"site_name" json:"siteName"`                   // siteName
	GroupID          string     `db:"group_id" json:"groupId"`                     // groupId (Praetorian "Group")
	GroupName        string     `db:"group_name" json:"groupName"`                 // groupName
	AccountID        string     `db:"account_id" json:"accountId"`                 // accountId
	AccountName      string     `db:"account_name" json:"accountName"`             // accountName
	Tags             string     `db:"tags" json:"tags"`                            // tags.sentinelone[] as JSON text
	IsActive         bool       `db:"is_active" json:"isActive"`                   // isActive
	Infected         bool       `db:"infected" json:"infected"`                    // infected
	ActiveThreats    int64      `db:"active_threats" json:"activeThreats"`         // activeThreats
	IsDecommissioned bool       `db:"is_decommissioned" json:"isDecommissioned"`   // isDecommissioned
	IsUninstalled    bool       `db:"is_uninstalled" json:"isUninstalled"`         // isUninstalled
	RegisteredAt     *time.Time `db:"registered_at" json:"registeredAt"`           // registeredAt
	CreatedAt        *time.Time `db:"created_at" json:"createdAt"`                 // createdAt
	UpdatedAt        *time.Time `db:"updated_at" json:"updatedAt"`                 // updatedAt
}

var hostAssetColumns = dbColumns(reflect.TypeFor[HostAsset]())

// HostAssetColumns returns the db tag names in struct order (the store builds its upsert
// from this). The slice is a copy.
func HostAssetColumns() []string { return append([]string(nil), hostAssetColumns...) }

// Values returns the row's values in HostAssetColumns order.
func (h *HostAsset) Values() []any {
	return []any{
		h.AgentID, h.UUID, h.Hostname, h.Processor, h.LastBoot, h.SerialNumber, h.CPUCount, h.CoreCount,
		h.IPAddresses, h.ExternalIP, h.Model, h.Manufacturer, h.Gateway, h.InterfaceName, h.MACAddress,
		h.OSArch, h.OSName, h.OSVersion, h.OSType, h.TotalMemoryMB, h.Domain, h.AgentVersion, h.AgentStatus,
		h.NetworkStatus, h.MachineType, h.LastActive, h.LastLoggedInUser, h.SiteID, h.SiteName, h.GroupID,
		h.GroupName, h.AccountID, h.AccountName, h.Tags, h.IsActive, h.Infected, h.ActiveThreats,
		h.IsDecommissioned, h.IsUninstalled, h.RegisteredAt, h.CreatedAt, h.UpdatedAt,
	}
}

func dbColumns(t reflect.Type) []string {
	cols := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("db"); tag != "" && tag != "-" {
			cols = append(cols, tag)
		}
	}
	return cols
}

type flatTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func fillHostAsset(h *HostAsset, a *s1Agent, id string, tags []s1Tag) {
	var ips, gws, names, macs []string
	for _, nif := range a.NetworkInterfaces {
		for _, ip := range nif.Inet {
			ips = appendUnique(ips, ip)
		}
		for _, ip := range nif.Inet6 {
			ips = appendUnique(ips, ip)
		}
		gws = appendUnique(gws, nif.GatewayIP.String())
		names = appendUnique(names, nif.Name.String())
		macs = appendUnique(macs, nif.Physical.String())
	}
	for _, ip := range a.IPv4Addresses {
		ips = appendUnique(ips, ip)
	}
	for _, ip := range a.IPv6Addresses {
		ips = appendUnique(ips, ip)
	}
	for _, mac := range a.MACAddresses {
		macs = appendUnique(macs, normalizeMAC(mac))
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

	*h = HostAsset{
		AgentID:          id,
		UUID:             a.UUID.String(),
		Hostname:         a.ComputerName.String(),
		Processor:        a.CPUID.String(),
		LastBoot:         a.OSStartTime.Ptr(),
		SerialNumber:     a.SerialNumber.String(),
		CPUCount:         a.CPUCount.Value,
		CoreCount:        a.CoreCount.Value,
		IPAddresses:      strings.Join(ips, ","),
		ExternalIP:       a.ExternalIP.String(),
		Model:            a.ModelName.String(),
		Manufacturer:     a.Manufacturer.String(),
		Gateway:          strings.Join(gws, ","),
		InterfaceName:    strings.Join(names, ","),
		MACAddress:       strings.Join(macs, ","),
		OSArch:           a.OSArch.String(),
		OSName:           firstNonEmpty(a.OSName.String(), a.OSVersion.String()),
		OSVersion:        a.OSRevision.String(),
		OSType:           a.OSType.String(),
		TotalMemoryMB:    a.TotalMemory.Value,
		Domain:           a.Domain.String(),
		AgentVersion:     a.AgentVersion.String(),
		AgentStatus:      agentStatus(a),
		NetworkStatus:    networkStatus(a),
		MachineType:      a.MachineType.String(),
		LastActive:       a.LastActiveDate.Ptr(),
		LastLoggedInUser: firstNonEmpty(a.LastLoggedInUserName.String(), a.UserName.String()),
		SiteID:           a.SiteID.String(),
		SiteName:         a.SiteName.String(),
		GroupID:          a.GroupID.String(),
		GroupName:        a.GroupName.String(),
		AccountID:        a.AccountID.String(),
		AccountName:      a.AccountName.String(),
		Tags:             tagText,
		IsActive:         a.IsActive.Value,
		Infected:         a.Infected.Value,
		ActiveThreats:    a.ActiveThreats.Value,
		IsDecommissioned: a.IsDecommissioned.Value,
		IsUninstalled:    a.IsUninstalled.Value,
		RegisteredAt:     a.RegisteredAt.Ptr(),
		CreatedAt:        a.CreatedAt.Ptr(),
		UpdatedAt:        a.UpdatedAt.Ptr(),
	}
}
