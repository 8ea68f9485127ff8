// Package ocsf transforms SentinelOne console objects into OCSF 1.6.0 events and flat
// rows for the store.
//
// Every transform follows one pattern, in its own file:
//
//	func Agent(raw json.RawMessage, m Meta) (*AgentRecord, error)       // agent.go,  class 5001
//	func Threat(raw json.RawMessage, m Meta) (*ThreatRecord, error)     // threat.go, class 2004
//	func Alert(raw json.RawMessage, m Meta) (*AlertRecord, error)       // alert.go,  class 2004
//	func XDRAsset(raw json.RawMessage, m Meta, agent *HostAsset) (*XDRAssetRecord, error)  // xdrasset.go, 5001
//	func Vulnerability(raw json.RawMessage, m Meta, host *HostAsset, cve *CVEDetail,
//		sev SeverityMap, prevStatus string) (*VulnRecord, error)                 // vulnerability.go, 2002
//	func Software(app, endpoint json.RawMessage, m Meta) (*SoftwareRecord, error) // software.go, 5020
//
// Each decodes the raw object once into a typed struct of tolerant field types (flex.go),
// builds the event from typed structs (no maps), marshals it once, and returns a
// Record[F] (Key, UpdatedAt, Hash of the raw bytes, Event, Flat row F). Flat row types
// carry `db` tags and provide Columns()/Values() helpers for the store's upsert.
// Events are checked against the embedded strict schemas with Validator in tests.
package ocsf

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// OCSF identifiers used by this package.
const (
	SchemaVersion = "1.6.0"

	ClassDeviceInventoryInfo   = 5001
	ClassSoftwareInventoryInfo = 5020
	ClassVulnerabilityFinding  = 2002
	ClassDetectionFinding      = 2004

	CategoryFindings  = 2
	CategoryDiscovery = 5

	ActivityCollect = 2 // Discovery classes: 2 = Collect

	SeverityInformational = 1
	StatusSuccess         = 1

	VendorName  = "SentinelOne"
	ProductName = "SentinelOne"

	// ConnectorName identifies this connector in metadata.loggers / transformation_info.
	ConnectorName   = "s1conn"
	ConnectorVendor = "sentinelone-connector"
)

// Meta is the per-call context of a transform.
type Meta struct {
	ConnectionID   string    // connection the record came through (metadata.loggers[0].uid)
	ConsoleURL     string    // console base URL (metadata.product.url_string)
	ProductVersion string    // connector version (metadata.loggers[0].version, transformation_info)
	Now            time.Time // collection time (metadata.logged_time, processed_time)
	// ValidJSON says the raw records are known to be valid JSON and valid UTF-8 (their page's
	// body passed both checks: sentinelone.Page.Valid), so decoding skips the per-record check.
	ValidJSON bool
}

// Decode unmarshals a source record (or a part of one), trusting m.ValidJSON.
func (m Meta) Decode(raw []byte, v any) error {
	if m.ValidJSON {
		return fastjson.UnmarshalValid(raw, v)
	}
	return fastjson.Unmarshal(raw, v)
}

// marshalEvent encodes a finding (threats, alerts, vulnerabilities) as encoding/json would,
// with every object's members in jsonb's key order (fastjson.MarshalJSONB): the store keeps
// events in jsonb columns, and PostgreSQL sorts each object's members as it parses one (it
// parsed 20,000 alerts' events 11 µs a row faster in this order; in one make bench alerts full
// sync its CPU a row fell from 1.30 × its COPY ceiling's to 1.05 ×). A vulnerability event
// (4.4 KB, no console passthroughs) costs the same to encode either way (BenchmarkVulnerability
// 37.2 µs with goccy, 38.6 with this, within the host's noise) and PostgreSQL parsed 100,000
// of them 86 µs a row with goccy's order and 68 in this one. The inventory events keep goccy
// (fastjson.Marshal): the agent transform costs 12-18 µs more with this encoder (its console
// passthroughs are validated and reordered), about what PostgreSQL saves (24 µs a row), and
// the XDR asset transform 8 µs more.
func marshalEvent(ev any) ([]byte, error) {
	if checkEventEncoding == nil {
		return fastjson.MarshalJSONB(ev)
	}
	n := fastjson.Fallbacks()
	b, err := fastjson.MarshalJSONB(ev)
	checkEventEncoding(ev, b, err, fastjson.Fallbacks() != n)
	return b, err
}

// checkEventEncoding, when set (by this package's tests), sees every event marshalEvent
// encodes, so each fixture and fuzz input checks the encoding against encoding/json's and that
// no part of it was left to encoding/json's slower path (fellBack).
var checkEventEncoding func(ev any, b []byte, err error, fellBack bool)

// Record is what every transform returns: the upsert key, the delta watermark, the hash of
// the raw bytes (change detection), the OCSF event and the flat row.
type Record[F any] struct {
	Key       string          // natural key of the source object (e.g. agent id)
	UpdatedAt time.Time       // source updatedAt (delta watermark); zero when the source has none
	Hash      string          // hex sha256 of the raw JSON bytes as received
	Event     json.RawMessage // OCSF event
	Flat      F               // flat row
}

// AgentRecord is the result of Agent: an OCSF 5001 event and a HostAsset row.
type AgentRecord = Record[HostAsset]

// HashRaw is the hex sha256 of raw bytes exactly as received.
func HashRaw(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// eventUID is a deterministic metadata.uid: the same connection, stream, key and raw
// content always give the same id, so re-exports are recognisable as the same event.
func eventUID(connectionID, stream, key, rawHash string) string {
	h := sha256.New()
	h.Write([]byte(connectionID))
	h.Write([]byte{0})
	h.Write([]byte(stream))
	h.Write([]byte{0})
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(rawHash))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// ---- shared OCSF object types (only attributes present in the 1.6.0 schema) ----

type baseEvent struct {
	ActivityID   int      `json:"activity_id"`
	ActivityName string   `json:"activity_name,omitempty"`
	CategoryUID  int      `json:"category_uid"`
	CategoryName string   `json:"category_name,omitempty"`
	ClassUID     int      `json:"class_uid"`
	ClassName    string   `json:"class_name,omitempty"`
	TypeUID      int      `json:"type_uid"`
	TypeName     string   `json:"type_name,omitempty"`
	SeverityID   int      `json:"severity_id"`
	Severity     string   `json:"severity,omitempty"`
	StatusID     int      `json:"status_id,omitempty"`
	Status       string   `json:"status,omitempty"`
	Time         int64    `json:"time"`
	Metadata     metadata `json:"metadata"`
}

type metadata struct {
	Version                string               `json:"version"`
	Product                product              `json:"product"`
	UID                    string               `json:"uid,omitempty"`
	CorrelationUID         string               `json:"correlation_uid,omitempty"`
	LogName                string               `json:"log_name,omitempty"`
	TenantUID              string               `json:"tenant_uid,omitempty"`
	OriginalTime           string               `json:"original_time,omitempty"`
	ModifiedTime           int64                `json:"modified_time,omitempty"`
	LoggedTime             int64                `json:"logged_time,omitempty"`
	ProcessedTime          int64                `json:"processed_time,omitempty"`
	Tags                   []keyValue           `json:"tags,omitempty"`
	Profiles               []string             `json:"profiles,omitempty"`
	Loggers                []logger             `json:"loggers,omitempty"`
	TransformationInfoList []transformationInfo `json:"transformation_info_list,omitempty"`
}

type product struct {
	Name       string `json:"name,omitempty"`
	VendorName string `json:"vendor_name,omitempty"`
	Version    string `json:"version,omitempty"`
	URLString  string `json:"url_string,omitempty"`
	UID        string `json:"uid,omitempty"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type logger struct {
	Name       string   `json:"name,omitempty"`
	UID        string   `json:"uid,omitempty"`
	Version    string   `json:"version,omitempty"`
	Product    *product `json:"product,omitempty"`
	LogName    string   `json:"log_name,omitempty"`
	LoggedTime int64    `json:"logged_time,omitempty"`
}

type transformationInfo struct {
	Name    string   `json:"name,omitempty"`
	UID     string   `json:"uid,omitempty"`
	Lang    string   `json:"lang,omitempty"`
	Product *product `json:"product,omitempty"`
	Time    int64    `json:"time,omitempty"`
}

type enrichment struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Type     string `json:"type,omitempty"`
	Provider string `json:"provider,omitempty"`
	Data     any    `json:"data"`
}

// newMetadata fills the metadata common to every event of this connector.
func newMetadata(m Meta, stream, key, rawHash, tenant, originalTime, mapping string) metadata {
	now := int64(0)
	if !m.Now.IsZero() {
		now = m.Now.UnixMilli()
	}
	connector := &product{Name: ConnectorName, VendorName: ConnectorVendor, Version: m.ProductVersion}
	md := metadata{
		Version:       SchemaVersion,
		Product:       product{Name: ProductName, VendorName: VendorName, URLString: m.ConsoleURL},
		UID:           eventUID(m.ConnectionID, stream, key, rawHash),
		LogName:       stream,
		TenantUID:     tenant,
		OriginalTime:  originalTime,
		LoggedTime:    now,
		ProcessedTime: now,
		TransformationInfoList: []transformationInfo{{
			Name: mapping, UID: ConnectorName + "/" + stream, Lang: "Go", Product: connector, Time: now,
		}},
	}
	if m.ConnectionID != "" {
		md.Loggers = []logger{{
			Name: ConnectorName, UID: m.ConnectionID, Version: m.ProductVersion,
			Product: connector, LogName: stream, LoggedTime: now,
		}}
	}
	return md
}

func appendUnique(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
