package ocsf

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/* from the current transform output")

var testMeta = Meta{
	ConnectionID:   "conn-test",
	ConsoleURL:     "https://usea1-partners.sentinelone.net",
	ProductVersion: "0.1.0-test",
	Now:            time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC),
}

var (
	validatorOnce sync.Once
	validator     *Validator
	validatorErr  error
)

func testValidator(t testing.TB) *Validator {
	t.Helper()
	validatorOnce.Do(func() { validator, validatorErr = NewValidator() })
	require.NoError(t, validatorErr)
	return validator
}

// agentFixtures are the S1 agent inputs under testdata/agents/ (golden outputs in testdata/golden/agents/).
func agentFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/agents/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	return out
}

func mustAgent(t testing.TB, raw string) *AgentRecord {
	t.Helper()
	rec, err := Agent(json.RawMessage(raw), testMeta)
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDeviceInventoryInfo, rec.Event), "event: %s", rec.Event)
	return rec
}

// eventDoc decodes an event for path lookups.
func eventDoc(t testing.TB, ev []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ev, &m))
	return m
}

// at looks up a slash-separated path ("device/os/type_id", "device/agent_list/0/version").
func at(doc any, path string) (any, bool) {
	cur := doc
	for _, p := range strings.Split(path, "/") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i := 0
			for _, r := range p {
				if r < '0' || r > '9' {
					return nil, false
				}
				i = i*10 + int(r-'0')
			}
			if i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func TestAgentGolden(t *testing.T) {
	v := testValidator(t)
	for name, raw := range agentFixtures(t) {
		t.Run(name, func(t *testing.T) {
			rec, err := Agent(raw, testMeta)
			require.NoError(t, err)
			require.NoError(t, v.Validate(ClassDeviceInventoryInfo, rec.Event))
			require.Equal(t, HashRaw(raw), rec.Hash)

			var pretty any
			require.NoError(t, json.Unmarshal(rec.Event, &pretty))
			gotEvent, err := json.MarshalIndent(pretty, "", "  ")
			require.NoError(t, err)
			gotFlat, err := json.MarshalIndent(rec.Flat, "", "  ")
			require.NoError(t, err)

			eventFile := filepath.Join("testdata", "golden", "agents", name+".ocsf.json")
			flatFile := filepath.Join("testdata", "golden", "agents", name+".flat.json")
			if *update {
				require.NoError(t, os.WriteFile(eventFile, append(gotEvent, '\n'), 0o644))
				require.NoError(t, os.WriteFile(flatFile, append(gotFlat, '\n'), 0o644))
			}
			wantEvent, err := os.ReadFile(eventFile)
			require.NoError(t, err, "missing golden file; run go test ./ocsf -run TestAgentGolden -update")
			require.JSONEq(t, string(wantEvent), string(gotEvent))
			// the golden file itself must validate (guards hand edits)
			require.NoError(t, v.Validate(ClassDeviceInventoryInfo, wantEvent))
			wantFlat, err := os.ReadFile(flatFile)
			require.NoError(t, err)
			require.JSONEq(t, string(wantFlat), string(gotFlat))
		})
	}
}

// TestSekoiaValues checks, independently of the golden files, that every value of Sekoia's
// example output (seeds/001) survives at its OCSF home or under unmapped. Times are OCSF
// milliseconds computed from the input (Sekoia's printed epochs are inconsistent with its input).
func TestSekoiaValues(t *testing.T) {
	ms := func(s string) float64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return float64(tm.UnixMilli())
	}
	cases := map[string]map[string]any{
		"sekoia_active_device": {
			"activity_id": 2.0, "activity_name": "Collect", "category_name": "Discovery", "category_uid": 5.0,
			"class_name": "Device Inventory Info", "class_uid": 5001.0, "type_name": "Device Inventory Info: Collect",
			"type_uid": 500102.0, "severity": "Informational", "severity_id": 1.0,
			"metadata/product/name": "SentinelOne", "metadata/product/vendor_name": "SentinelOne", "metadata/version": "1.6.0",
			"device/uid": "475482087580431375", "device/name": "LAPTOP-JOHN-DEV", "device/hostname": "LAPTOP-JOHN-DEV",
			"device/domain": "example.com", "device/type_id": 3.0, "device/type": "Laptop",
			"device/hw_info/serial_number": "ABC123DEF456GHI", "device/vendor_name": "Dell", "device/model": "Latitude 5540",
			"device/hw_info/cpu_count": 8.0, "device/hw_info/cpu_cores": 8.0, "device/hw_info/ram_size": 16384.0,
			"device/ip": "192.168.1.100", "device/mac": "00:1A:2B:3C:4D:5E",
			"device/os/type": "Windows", "device/os/type_id": 100.0, "device/os/version": "Windows 10 Pro", "device/os/build": "22H2",
			"device/agent_list/0/version": "23.4.1.1001", "device/agent_list/0/name": "SentinelOne",
			"device/owner/uid": "u1234567890abcdef", "device/owner/name": "john.developer@example.com", "device/owner/full_name": "John Developer",
			"device/created_time": ms("2023-06-04T10:00:00.000Z"), "device/modified_time": ms("2025-08-26T09:30:00.000Z"),
			"device/last_seen_time": ms("2025-08-26T09:30:00.000Z"),
			"unmapped/device/type":  "computer", "unmapped/device/machine_type": "laptop",
			"unmapped/device/ipv4_addresses/0": "192.168.1.100", "unmapped/device/ipv4_addresses/1": "10.0.0.50",
			"unmapped/device/ipv6_addresses/0": "fe80::1234:5678:90ab:cdef", "unmapped/device/mac_addresses/0": "00:1A:2B:3C:4D:5E",
			"unmapped/device/is_enabled": true, "unmapped/device/is_online": true, "unmapped/device/is_encrypted": true,
			"unmapped/device/is_firewall_enabled": true, "unmapped/device/is_tamper_protected": true,
			"unmapped/device/threat_level": "good", "unmapped/device/threat_count": 0.0, "unmapped/device/agent_status": "active",
			"enrichments/0/name": "device_security", "enrichments/0/value": "sentinelone_device",
			"enrichments/0/data/threat_level": "good", "enrichments/0/data/threat_count": 0.0, "enrichments/0/data/is_enabled": true,
			"enrichments/0/data/agent_status": "active", "enrichments/0/data/agent_version": "23.4.1.1001",
			"enrichments/0/data/is_encrypted": true, "enrichments/0/data/is_firewall_enabled": true,
			"enrichments/0/data/is_tamper_protected": true, "enrichments/0/data/last_seen": ms("2025-08-26T09:30:00.000Z"),
		},
		"sekoia_inactive_device": {
			"device/uid": "475482087580431376", "device/hostname": "SERVER-OLD-PROD", "device/type_id": 1.0,
			"device/os/type_id": 200.0, "device/os/type": "Linux", "device/os/version": "Ubuntu 18.04.6 LTS",
			"device/os/build": "5.4.0-42-generic", "device/hw_info/cpu_count": 16.0, "device/hw_info/cpu_cores": 32.0,
			"device/hw_info/ram_size": 131072.0, "device/ip": "10.0.0.200", "device/mac": "00:30:48:2E:3A:A8",
			"device/vendor_name": "HP", "device/model": "ProLiant DL380 Gen10",
			"unmapped/device/is_enabled": false, "unmapped/device/is_online": false, "unmapped/device/is_encrypted": false,
			"unmapped/device/is_tamper_protected": false, "unmapped/device/threat_level": "unknown",
			"unmapped/device/agent_status": "inactive", "unmapped/device/last_incident_time": ms("2025-05-20T10:00:00.000Z"),
			"enrichments/0/data/agent_status": "inactive", "enrichments/0/data/is_enabled": false,
			"enrichments/0/data/last_seen": ms("2025-06-01T14:30:00.000Z"),
		},
	}
	fx := agentFixtures(t)
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			rec := mustAgent(t, string(fx[name]))
			doc := eventDoc(t, rec.Event)
			for path, v := range want {
				got, ok := at(doc, path)
				require.True(t, ok, "missing %s", path)
				require.Equal(t, v, got, path)
			}
			_, hasOwner := at(doc, "device/owner")
			if name == "sekoia_inactive_device" {
				require.False(t, hasOwner, "null user fields must not produce an owner")
			}
		})
	}
}
