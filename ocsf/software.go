package ocsf

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// StreamApplications is the stream / log name of installed-software records.
const StreamApplications = "applications"

const softwareMapping = "SentinelOne installed application to OCSF 1.6.0 Software Inventory Info"

// s1InventoryApp is the /application-management/inventory item (reference §6.8).
type s1InventoryApp struct {
	ApplicationName          FlexString `json:"applicationName"`
	ApplicationVendor        FlexString `json:"applicationVendor"`
	ApplicationVersionsCount FlexInt    `json:"applicationVersionsCount"`
	EndpointsCount           FlexInt    `json:"endpointsCount"`
	Estimate                 FlexBool   `json:"estimate"`
}

// s1AppEndpoint is the /application-management/inventory/endpoints item (reference §6.8).
type s1AppEndpoint struct {
	ID                          FlexString `json:"id"`
	ApplicationName             FlexString `json:"applicationName"`
	ApplicationVendor           FlexString `json:"applicationVendor"` // not in the reference item; read when sent
	Version                     FlexString `json:"version"`
	ApplicationInstallationDate FlexTime   `json:"applicationInstallationDate"`
	ApplicationInstallationPath FlexString `json:"applicationInstallationPath"`
	CPE                         FlexString `json:"cpe"`
	DetectionDate               FlexTime   `json:"detectionDate"`
	FileSize                    FlexInt    `json:"fileSize"`
	EndpointID                  FlexString `json:"endpointId"`
	EndpointName                FlexString `json:"endpointName"`
	EndpointType                FlexString `json:"endpointType"`
	EndpointUUID                FlexString `json:"endpointUuid"`
	OSArch                      FlexString `json:"osArch"`
	OSName                      FlexString `json:"osName"`
	OSType                      FlexString `json:"osType"`
	OSVersion                   FlexString `json:"osVersion"`
	CPUCount                    FlexInt    `json:"cpuCount"`
	CoreCount                   FlexInt    `json:"coreCount"`
	AccountID                   FlexString `json:"accountId"` // not in the reference item; read when sent
	AccountName                 FlexString `json:"accountName"`
	SiteID                      FlexString `json:"siteId"` // idem
	SiteName                    FlexString `json:"siteName"`
	GroupID                     FlexString `json:"groupId"` // idem
	GroupName                   FlexString `json:"groupName"`
}

// SoftwareRow is the flat row of one installed application: one per endpoint ×
// application × version (runZero's "import software installed on assets", seeds/002).
//
// Types are what database/sql writes directly: string ("" = absent), int64, *time.Time
// (nil = NULL).
type SoftwareRow struct {
	EndpointID   string     `db:"endpoint_id" json:"endpointId"`     // endpointId (agent id)
	EndpointUUID string     `db:"endpoint_uuid" json:"endpointUuid"` // endpointUuid
	EndpointName string     `db:"endpoint_name" json:"endpointName"` // endpointName
	EndpointType string     `db:"endpoint_type" json:"endpointType"` // endpointType (desktop, laptop, server)
	AppName      string     `db:"app_name" json:"appName"`           // inventory applicationName (else the endpoint row's)
	Vendor       string     `db:"vendor" json:"vendor"`              // inventory applicationVendor (else the endpoint row's)
	Version      string     `db:"version" json:"version"`            // version
	InstalledAt  *time.Time `db:"installed_at" json:"installedAt"`   // applicationInstallationDate
	DetectedAt   *time.Time `db:"detected_at" json:"detectedAt"`     // detectionDate
	InstallPath  string     `db:"install_path" json:"installPath"`   // applicationInstallationPath
	CPE          string     `db:"cpe" json:"cpe"`                    // cpe
	FileSize     int64      `db:"file_size" json:"fileSize"`         // fileSize (bytes)
	OSType       string     `db:"os_type" json:"osType"`             // osType
	OSName       string     `db:"os_name" json:"osName"`             // osName
	OSVersion    string     `db:"os_version" json:"osVersion"`       // osVersion
	OSArch       string     `db:"os_arch" json:"osArch"`             // osArch
	AppID        string     `db:"app_id" json:"appId"`               // id (the installation row id)
	AccountName  string     `db:"account_name" json:"accountName"`   // accountName
	SiteName     string     `db:"site_name" json:"siteName"`         // siteName
	GroupName    string     `db:"group_name" json:"groupName"`       // groupName
}

// SoftwareRecord is the result of Software: an OCSF 5020 event and a SoftwareRow.
type SoftwareRecord = Record[SoftwareRow]

var softwareColumns = dbColumns(reflect.TypeFor[SoftwareRow]())

// SoftwareColumns returns the db tag names of SoftwareRow in struct order (a copy).
func SoftwareColumns() []string { return append([]string(nil), softwareColumns...) }

// Values returns the row's values in SoftwareColumns order.
func (r *SoftwareRow) Values() []any {
	return []any{
		r.EndpointID, r.EndpointUUID, r.EndpointName, r.EndpointType, r.AppName, r.Vendor, r.Version, r.InstalledAt,
		r.DetectedAt, r.InstallPath, r.CPE, r.FileSize, r.OSType, r.OSName, r.OSVersion, r.OSArch, r.AppID,
		r.AccountName, r.SiteName, r.GroupName,
	}
}

// SoftwareKey is the natural key of an installation: endpointId|applicationName|version
// (as the simulator's ground truth keys it).
func SoftwareKey(endpointID, appName, version string) string {
	return endpointID + "|" + appName + "|" + version
}

// ---- OCSF 5020 event types (checked against schema/software_info.schema.json) ----

type softwareInfoEvent struct {
	baseEvent
	Device   device            `json:"device"`
	Package  *softwarePackage  `json:"package,omitempty"`
	Unmapped *softwareUnmapped `json:"unmapped,omitempty"`
}

type softwarePackage struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	VendorName string `json:"vendor_name,omitempty"`
	TypeID     int    `json:"type_id"`
	Type       string `json:"type,omitempty"`
	CPEName    string `json:"cpe_name,omitempty"`
}

type softwareUnmapped struct {
	SentinelOne *softwareExtras `json:"sentinelone,omitempty"`
}

// softwareExtras are the console fields with no OCSF home, under console names.
type softwareExtras struct {
	ID                          string `json:"id,omitempty"`
	ApplicationInstallationDate string `json:"applicationInstallationDate,omitempty"`
	ApplicationInstallationPath string `json:"applicationInstallationPath,omitempty"`
	DetectionDate               string `json:"detectionDate,omitempty"`
	FileSize                    *int64 `json:"fileSize,omitempty"`
	EndpointType                string `json:"endpointType,omitempty"`
	OSVersion                   string `json:"osVersion,omitempty"`
	SiteName                    string `json:"siteName,omitempty"` // only when there is no account (device.org needs one)
}

// Software transforms one installation into an OCSF 5020 Software Inventory Info event and
// a SoftwareRow. app is the /application-management/inventory item the walk is under (its
// name and vendor are authoritative; null or {} when unknown), endpoint the
// /inventory/endpoints item for that app. Key is endpointId|applicationName|version;
// UpdatedAt is detectionDate (else applicationInstallationDate). Hash is of the endpoint
// item's bytes only: the app item's counts change whenever any endpoint installs it.
func Software(app json.RawMessage, endpoint json.RawMessage, m Meta) (*SoftwareRecord, error) {
	var a s1InventoryApp
	if len(app) > 0 {
		if err := m.Decode(app, &a); err != nil {
			return nil, decodeError("application", err)
		}
	}
	var e s1AppEndpoint
	if err := m.Decode(endpoint, &e); err != nil {
		return nil, decodeError("application endpoint", err)
	}
	epID := e.EndpointID.String()
	if epID == "" {
		return nil, errors.New(`ocsf: application endpoint: missing required field "endpointId"`)
	}
	name := firstNonEmpty(a.ApplicationName.String(), e.ApplicationName.String())
	if name == "" {
		return nil, errors.New(`ocsf: application: missing required field "applicationName"`)
	}
	version := e.Version.String()
	key := SoftwareKey(epID, name, version)
	hash := HashRaw(endpoint)
	rec := &SoftwareRecord{Key: key, UpdatedAt: firstTime(e.DetectionDate, e.ApplicationInstallationDate).Time, Hash: hash}
	rec.Flat = SoftwareRow{
		EndpointID:   epID,
		EndpointUUID: e.EndpointUUID.String(),
		EndpointName: e.EndpointName.String(),
		EndpointType: e.EndpointType.String(),
		AppName:      name,
		Vendor:       firstNonEmpty(a.ApplicationVendor.String(), e.ApplicationVendor.String()),
		Version:      version,
		InstalledAt:  e.ApplicationInstallationDate.Ptr(),
		DetectedAt:   e.DetectionDate.Ptr(),
		InstallPath:  e.ApplicationInstallationPath.String(),
		CPE:          e.CPE.String(),
		FileSize:     e.FileSize.Value,
		OSType:       e.OSType.String(),
		OSName:       e.OSName.String(),
		OSVersion:    e.OSVersion.String(),
		OSArch:       e.OSArch.String(),
		AppID:        e.ID.String(),
		AccountName:  e.AccountName.String(),
		SiteName:     e.SiteName.String(),
		GroupName:    e.GroupName.String(),
	}
	ev := buildSoftwareEvent(&e, &rec.Flat, key, hash, m)
	b, err := fastjson.Marshal(ev)
	if err != nil { // unreachable with these types
		return nil, fmt.Errorf("ocsf: application %s: encode event: %w", key, err)
	}
	rec.Event = b
	return rec, nil
}

func buildSoftwareEvent(e *s1AppEndpoint, r *SoftwareRow, key, hash string, m Meta) *softwareInfoEvent {
	ts := firstTime(e.DetectionDate, e.ApplicationInstallationDate).Millis()
	if ts == 0 && !m.Now.IsZero() {
		ts = m.Now.UnixMilli()
	}
	ev := &softwareInfoEvent{baseEvent: baseEvent{
		ActivityID:   ActivityCollect,
		ActivityName: "Collect",
		CategoryUID:  CategoryDiscovery,
		CategoryName: "Discovery",
		ClassUID:     ClassSoftwareInventoryInfo,
		ClassName:    "Software Inventory Info",
		TypeUID:      ClassSoftwareInventoryInfo*100 + ActivityCollect,
		TypeName:     "Software Inventory Info: Collect",
		SeverityID:   SeverityInformational,
		Severity:     "Informational",
		StatusID:     StatusSuccess,
		Status:       "Success",
		Time:         ts,
		Metadata: newMetadata(m, StreamApplications, key, hash, e.AccountID.String(),
			firstTime(e.DetectionDate, e.ApplicationInstallationDate).ISO(), softwareMapping),
	}}
	v := hostView{
		UID: r.EndpointID, UIDAlt: r.EndpointUUID, Name: r.EndpointName, Hostname: r.EndpointName,
		OSName: r.OSName, OSType: r.OSType, OSVersion: r.OSVersion, OSArch: r.OSArch, MachineType: r.EndpointType,
		CPUCount: e.CPUCount.Value, CoreCount: e.CoreCount.Value,
		AgentID: r.EndpointID, AgentUUID: r.EndpointUUID,
		AccountID: e.AccountID.String(), AccountName: r.AccountName, SiteID: e.SiteID.String(), SiteName: r.SiteName,
		GroupID: e.GroupID.String(), GroupName: r.GroupName,
	}
	if d := v.device(); d != nil { // never nil: the uid is the endpoint id
		ev.Device = *d
	}
	ev.Package = &softwarePackage{
		Name: r.AppName, Version: r.Version, VendorName: r.Vendor, TypeID: 1, Type: "Application",
		CPEName: r.CPE,
	}
	x := &softwareExtras{
		ID:                          r.AppID,
		ApplicationInstallationDate: e.ApplicationInstallationDate.ISO(),
		ApplicationInstallationPath: r.InstallPath,
		DetectionDate:               e.DetectionDate.ISO(),
		FileSize:                    e.FileSize.Ptr(),
		EndpointType:                r.EndpointType,
		OSVersion:                   r.OSVersion,
	}
	if ev.Device.Org == nil {
		x.SiteName = r.SiteName
	}
	if !reflect.ValueOf(x).Elem().IsZero() {
		ev.Unmapped = &softwareUnmapped{SentinelOne: x}
	}
	return ev
}
