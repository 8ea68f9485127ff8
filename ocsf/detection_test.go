package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtures reads the inputs under testdata/<stream>/ (golden outputs in testdata/golden/<stream>/).
func fixtures(t testing.TB, stream string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", stream, "*.json"))
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

// checkGolden compares (or, with -update, rewrites) the event and flat golden files and
// validates both the event and the golden file against the 2004 schema.
func checkGolden(t *testing.T, stream, name string, event []byte, flat any) {
	t.Helper()
	v := testValidator(t)
	require.NoError(t, v.Validate(ClassDetectionFinding, event))
	var pretty any
	require.NoError(t, json.Unmarshal(event, &pretty))
	gotEvent, err := json.MarshalIndent(pretty, "", "  ")
	require.NoError(t, err)
	gotFlat, err := json.MarshalIndent(flat, "", "  ")
	require.NoError(t, err)
	eventFile := filepath.Join("testdata", "golden", stream, name+".ocsf.json")
	flatFile := filepath.Join("testdata", "golden", stream, name+".flat.json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(eventFile), 0o755))
		require.NoError(t, os.WriteFile(eventFile, append(gotEvent, '\n'), 0o644))
		require.NoError(t, os.WriteFile(flatFile, append(gotFlat, '\n'), 0o644))
	}
	wantEvent, err := os.ReadFile(eventFile)
	require.NoError(t, err, "missing golden file; run go test ./ocsf -run Golden -update")
	require.JSONEq(t, string(wantEvent), string(gotEvent))
	require.NoError(t, v.Validate(ClassDetectionFinding, wantEvent), "golden file must validate")
	wantFlat, err := os.ReadFile(flatFile)
	require.NoError(t, err)
	require.JSONEq(t, string(wantFlat), string(gotFlat))
}

func TestThreatGolden(t *testing.T) {
	for name, raw := range fixtures(t, StreamThreats) {
		t.Run(name, func(t *testing.T) {
			rec, err := Threat(raw, testMeta)
			require.NoError(t, err)
			require.Equal(t, HashRaw(raw), rec.Hash)
			require.Equal(t, rec.Key, rec.Flat.ThreatID)
			checkGolden(t, StreamThreats, name, rec.Event, rec.Flat)
		})
	}
}

func TestAlertGolden(t *testing.T) {
	for name, raw := range fixtures(t, StreamAlerts) {
		t.Run(name, func(t *testing.T) {
			rec, err := Alert(raw, testMeta)
			require.NoError(t, err)
			require.Equal(t, HashRaw(raw), rec.Hash)
			require.Equal(t, rec.Key, rec.Flat.AlertID)
			checkGolden(t, StreamAlerts, name, rec.Event, rec.Flat)
		})
	}
}

func mustThreat(t testing.TB, raw []byte) (*ThreatRecord, map[string]any) {
	t.Helper()
	rec, err := Threat(raw, testMeta)
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDetectionFinding, rec.Event), "event: %s", rec.Event)
	return rec, eventDoc(t, rec.Event)
}

func mustAlert(t testing.TB, raw []byte) (*AlertRecord, map[string]any) {
	t.Helper()
	rec, err := Alert(raw, testMeta)
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDetectionFinding, rec.Event), "event: %s", rec.Event)
	return rec, eventDoc(t, rec.Event)
}

func ms(t testing.TB, s string) float64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return float64(tm.UnixMilli())
}

func requirePaths(t *testing.T, doc map[string]any, want map[string]any) {
	t.Helper()
	for path, v := range want {
		got, ok := at(doc, path)
		if v == nil {
			require.False(t, ok, "%s must be absent, got %v", path, got)
			continue
		}
		require.True(t, ok, "missing %s", path)
		require.Equal(t, v, got, path)
	}
}

// TestThreatReferenceValues checks the verbatim §8.1 example independently of the golden files.
func TestThreatReferenceValues(t *testing.T) {
	rec, doc := mustThreat(t, fixtures(t, StreamThreats)["s1_threat_realistic"])
	require.Equal(t, "715723437013282014", rec.Key)
	require.Equal(t, time.Date(2020, 4, 2, 14, 52, 28, 534110000, time.UTC), rec.UpdatedAt, "watermark = threatInfo.updatedAt")
	requirePaths(t, doc, map[string]any{
		"class_uid": 2004.0, "category_uid": 2.0, "activity_id": 3.0, "activity_name": "Close", "type_uid": 200403.0,
		"status_id": 4.0, "status": "Resolved", "severity_id": 4.0, "confidence_id": 3.0, "confidence": "High",
		"verdict_id": 0.0, "disposition_id": 3.0, "disposition": "Quarantined", "action_id": 2.0, "is_alert": true,
		"time":             ms(t, "2020-04-02T14:52:28.534110Z"),
		"finding_info/uid": "715723437013282014", "finding_info/title": "Ncat Netcat Portable - CHIP-Installer.exe",
		"finding_info/types/0": "Malware", "finding_info/created_time": ms(t, "2019-09-15T12:14:42.440985Z"),
		"finding_info/modified_time":   ms(t, "2020-04-02T14:52:28.534110Z"),
		"finding_info/first_seen_time": ms(t, "2019-09-15T12:14:41.260Z"),
		"finding_info/analytic/name":   "On-Write DFI", "finding_info/analytic/type_id": 4.0,
		"finding_info/data_sources/0": "On-Write DFI", "finding_info/attacks": nil,
		"malware/0/classification_ids/0": 99.0, "malware/0/classifications/0": "Malware",
		"malware/0/uid":         "d8757a0396d05a1d532422827a70a7966c361366",
		"evidences/0/file/name": "Ncat Netcat Portable - CHIP-Installer.exe", "evidences/0/file/hashes/0/algorithm_id": 2.0,
		"evidences/0/file/hashes/0/value": "d8757a0396d05a1d532422827a70a7966c361366", "evidences/0/file/ext": "EXE",
		"evidences/0/process/uid": "8BF4207AFA583317", "evidences/0/process/user/name": "Administrator",
		"evidences/0/process/user/domain": "EC2AMAZ-AJ0KANC",
		"device/uid":                      "657613730168123595", "device/uid_alt": "f431b0a1a8744d2a8a92fc88fa3c13bc",
		"device/hostname": "EC2AMAZ-AJ0KANC", "device/domain": "WORKGROUP", "device/ip": "8.8.8.8", "device/type_id": 1.0,
		"device/os/name": "Windows Server 2016", "device/os/type_id": 100.0, "device/agent_list/0/version": "3.1.3.38",
		"device/org/uid": "433241117337583618", "device/org/ou_name": "demisto", "device/groups/0/name": "Default Group",
		"resources/0/uid": "657613730168123595", "resources/0/hostname": "EC2AMAZ-AJ0KANC",
		"metadata/tenant_uid": "433241117337583618", "metadata/log_name": "threats", "metadata/correlation_uid": "8BF4207AFA583317",
		"unmapped/sentinelone/threatInfo/publisherName":             "CHIP DIGITAL GMBH",
		"unmapped/sentinelone/threatInfo/confidenceLevel":           "malicious",
		"unmapped/sentinelone/agentRealtimeInfo/agentNetworkStatus": "connecting",
		"unmapped/sentinelone/mitigationStatus/1/action":            "quarantine",
		"unmapped/sentinelone/indicators/2/category":                "InfoStealer",
		"unmapped/sentinelone/whiteningOptions/2":                   "hash",
		"unmapped/sentinelone/containerInfo":                        nil, // all-null blocks are dropped
		"unmapped/sentinelone/kubernetesInfo":                       nil,
	})
	f := rec.Flat
	require.Equal(t, "resolved", ThreatStatus(&f))
	require.True(t, f.Resolved)
	require.Equal(t, "kill:success,quarantine:success", f.MitigationActions)
	require.Equal(t, "On-Write DFI", f.DetectionEngines)
	require.Equal(t, "EC2AMAZ-AJ0KANC\\Administrator", f.ProcessUser)
	require.Equal(t, "2019-09-15T12:14:41.26Z", f.IdentifiedAt.Format(time.RFC3339Nano))
}

func TestThreatEnginesAndMitre(t *testing.T) {
	fx := fixtures(t, StreamThreats)
	rec, doc := mustThreat(t, fx["s1_threat_elastic_engines_mitre"])
	requirePaths(t, doc, map[string]any{
		"finding_info/analytic/uid": "pre_execution", "finding_info/analytic/name": "On-Write Static AI",
		"finding_info/analytic/type_id": 4.0, "finding_info/related_analytics/0/uid": "data_files",
		"finding_info/data_sources/1":        "Documents, Scripts",
		"finding_info/attacks/0/tactic/name": "Defense Evasion", "finding_info/attacks/0/tactic/uid": "TA0005",
		"finding_info/attacks/0/technique/uid": "T1234", "finding_info/attacks/0/technique/src_url": "https://example.com/",
		"disposition_id": 9.0, "disposition": "Restored", "action_id": 1.0, // latest successful action: unquarantine
		"verdict_id": 4.0, "confidence_id": 2.0, "severity_id": 3.0, "status_id": 2.0, "activity_id": 2.0,
		"device/ip": "192.168.1.20", "device/owner/name": "analyst", "device/mac": "a4:83:e7:11:22:33",
		"unmapped/sentinelone/threatInfo/macroModules/0/moduleName":         "ThisDocument",
		"unmapped/sentinelone/agentDetectionInfo/agentLastLoggedInUserMail": "analyst@example.com",
	})
	require.Equal(t, "pre_execution,data_files", rec.Flat.DetectionEngines, "keys, not titles (titles contain commas)")
	require.Equal(t, "Defense Evasion", rec.Flat.MitreTactics)
	require.Equal(t, "T1234", rec.Flat.MitreTechniques)
	require.Equal(t, "in_progress", ThreatStatus(&rec.Flat))

	rec, doc = mustThreat(t, fx["threat_new_unmitigated"])
	requirePaths(t, doc, map[string]any{
		"activity_id": 1.0, "type_uid": 200401.0, "status_id": 1.0, "status": "New", "disposition_id": 15.0, "action_id": 1.0,
		"severity_id": 4.0, "malware/0/classification_ids/0": 10.0,
		"finding_info/attacks/0/tactic/uid": "TA0040", "finding_info/attacks/0/technique/uid": "T1486",
		"finding_info/attacks/1/tactic/uid": "TA0002", "finding_info/attacks/1/technique/uid": "T1059",
		"finding_info/attacks/1/sub_technique/uid": "T1059.001", "finding_info/attacks/1/sub_technique/name": "PowerShell",
		"finding_info/attacks/2/tactic/uid": "TA0007", "finding_info/attacks/2/technique": nil,
		"evidences/0/process/cmd_line":        "svchost_update.exe -k netsvcs --encrypt C:\\",
		"evidences/0/process/ancestry/0/name": "powershell.exe", "evidences/0/file/name": "svchost_update.exe",
	})
	require.Equal(t, "Impact,Execution,Discovery", rec.Flat.MitreTactics)
	require.Equal(t, "T1486,T1059.001", rec.Flat.MitreTechniques)
	require.Equal(t, "new", ThreatStatus(&rec.Flat))
}

func TestThreatVariants(t *testing.T) {
	fx := fixtures(t, StreamThreats)
	cases := map[string]map[string]any{
		"threat_mitigated_isolated": {
			"disposition_id": 4.0, "disposition": "Isolated", "action_id": 2.0, "verdict_id": 2.0, "verdict": "True Positive",
			"status_id": 2.0, "activity_id": 2.0, "device/ip": "172.16.4.3", "device/os/type_id": 200.0, "device/type_id": 1.0,
			"malware/0/classification_ids/0": 18.0, "finding_info/attacks/0/tactic/uid": "TA0011",
			"evidences/0/file/hashes/0/algorithm": "MD5", "evidences/0/file/hashes/1/algorithm": "SHA-1",
		},
		"threat_benign_resolved": {
			"disposition_id": 10.0, "disposition": "Exonerated", "action_id": 1.0, "verdict_id": 1.0, "is_alert": false,
			"activity_id": 3.0, "status_id": 4.0, "malware/0/classification_ids/0": 99.0, "finding_info/attacks": nil,
			"unmapped/sentinelone/threatInfo/publisherName": "Example Software Ltd",
		},
		"threat_missing_indicators": {
			"confidence_id": 0.0, "severity_id": 0.0, "disposition_id": 2.0, "disposition": "Blocked",
			"finding_info/attacks": nil, "finding_info/desc": nil, "finding_info/analytic": nil,
			"evidences/0/file/name": "Fileless PowerShell", "device/type_id": 3.0, "device/hostname": "LAPTOP-77",
			"finding_info/first_seen_time": ms(t, "2025-08-31T12:00:00Z"),
		},
		"threat_quirks": {
			"finding_info/uid": "1820000000000000005", "finding_info/title": "Cryptominer", "confidence_id": 3.0,
			"verdict_id": 2.0, "status_id": nil, "activity_id": 1.0, "disposition_id": 3.0, // createdAt == updatedAt in two forms
			"malware/0/classification_ids/0": 13.0, "finding_info/analytic/name": "Reputation",
			"finding_info/related_analytics/0/name": "On-Write DFI", "finding_info/analytic/type_id": 0.0,
			"finding_info/created_time": ms(t, "2025-08-01T10:00:00Z"), "finding_info/modified_time": 1754042400000.0,
			"device/org": nil, "device/type_id": 1.0, "device/uid": "1810000000000000005",
			"unmapped/sentinelone/agentRealtimeInfo/siteId":                           "1700000000000000012",
			"unmapped/sentinelone/agentRealtimeInfo/agentIsActive":                    true,
			"unmapped/sentinelone/agentRealtimeInfo/activeThreats":                    2.0,
			"unmapped/sentinelone/threatInfo/pendingActions":                          true,
			"unmapped/sentinelone/threatInfo/externalTicketId":                        "4242",
			"unmapped/sentinelone/containerInfo/image":                                "evil/xmrig:latest",
			"unmapped/sentinelone/containerInfo/labels":                               nil,
			"unmapped/sentinelone/agentDetectionInfo/cloudProviders/AWS/cloudAccount": "123456789012",
			"unmapped/sentinelone/indicators":                                         nil,
		},
		"threat_nulls": {
			"finding_info/uid": "1820000000000000006", "finding_info/title": nil, "device": nil, "resources": nil,
			"evidences": nil, "malware": nil, "activity_id": 1.0, "status_id": nil, "disposition_id": 0.0,
			"time": float64(testMeta.Now.UnixMilli()), "unmapped": nil,
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, doc := mustThreat(t, fx[name])
			requirePaths(t, doc, want)
		})
	}
	q, _ := mustThreat(t, fx["threat_quirks"])
	require.Equal(t, int64(5242880), q.Flat.FileSize)
	require.True(t, q.Flat.PendingActions)
	require.False(t, q.Flat.FailedActions)
	require.Empty(t, q.Flat.FileSHA1, `"None" is absent`)
	require.Nil(t, q.Flat.IdentifiedAt)
	require.Equal(t, "Reputation,On-Write DFI", q.Flat.DetectionEngines)
	require.Equal(t, "kill:success,quarantine:success", q.Flat.MitigationActions)
	require.Equal(t, "new", q.Flat.Status)

	n, _ := mustThreat(t, fx["threat_nulls"])
	require.True(t, n.UpdatedAt.IsZero())
	require.Nil(t, n.Flat.CreatedAt)
	require.Equal(t, "new", n.Flat.Status)
}

// TestThreatTimestampsOnlyUnderThreatInfo: top-level createdAt/updatedAt (which the
// console does not send) never drive the watermark or the event (SEKOIA PR #3105).
func TestThreatTimestampsOnlyUnderThreatInfo(t *testing.T) {
	raw := `{"id":"1","createdAt":"2030-01-01T00:00:00Z","updatedAt":"2030-01-01T00:00:00Z",
		"threatInfo":{"createdAt":"2025-01-01T00:00:00Z","updatedAt":"2025-01-02T00:00:00Z"}}`
	rec, doc := mustThreat(t, []byte(raw))
	require.Equal(t, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), rec.UpdatedAt)
	require.Equal(t, ms(t, "2025-01-02T00:00:00Z"), doc["time"])
	require.Equal(t, "2025-01-01T00:00:00Z", rec.Flat.CreatedAt.Format(time.RFC3339))

	rec, _ = mustThreat(t, []byte(`{"id":"1","updatedAt":"2030-01-01T00:00:00Z","threatInfo":{}}`))
	require.True(t, rec.UpdatedAt.IsZero(), "no threatInfo.updatedAt: zero watermark")
	rec, _ = mustThreat(t, []byte(`{"threatInfo":{"threatId":"77"}}`))
	require.Equal(t, "77", rec.Key, "threatInfo.threatId when id is absent")
}

func TestAlertReferenceValues(t *testing.T) {
	rec, doc := mustAlert(t, fixtures(t, StreamAlerts)["s1_alert_realistic"])
	require.Equal(t, "123456", rec.Key)
	require.Equal(t, time.Date(2022, 12, 20, 13, 54, 47, 350882000, time.UTC), rec.UpdatedAt)
	requirePaths(t, doc, map[string]any{
		"activity_id": 1.0, "type_uid": 200401.0, "status_id": 1.0, "status": "New", "severity_id": 5.0, "severity": "Critical",
		"verdict_id": 0.0, "confidence_id": 3.0, "disposition_id": 19.0, "action_id": 1.0, "is_alert": true,
		"time": ms(t, "2022-12-20T13:54:43.040Z"), "metadata/original_time": "2022-12-20T13:54:43.04Z",
		"finding_info/uid": "123456", "finding_info/title": "user-alerts", "finding_info/analytic/uid": "123456",
		"finding_info/analytic/name": "user-alerts", "finding_info/analytic/type_id": 1.0, "finding_info/analytic/type": "Rule",
		"finding_info/created_time": ms(t, "2022-12-20T13:54:43.040Z"), "finding_info/modified_time": ms(t, "2022-12-20T13:54:47.350882Z"),
		"finding_info/related_events/0/uid": "123456", "finding_info/related_events/0/type": "REGVALUEMODIFIED",
		"finding_info/types/0": "STAR events", "finding_info/data_sources/0": "STAR",
		"device/uid": "123456", "device/hostname": "DESKTOP", "device/type_id": 2.0, "device/os/name": "Windows 10 Pro",
		"device/os/type_id": 100.0, "device/agent_list/0/version": "1.1.1.1", "device/org": nil,
		"evidences/0/process/pid": 123456.0, "evidences/0/process/uid": "123456",
		"evidences/0/process/created_time": ms(t, "2022-12-15T21:50:59.829Z"), "evidences/1": nil,
		"metadata/correlation_uid":                            "123456",
		"unmapped/sentinelone/agentDetectionInfo/siteId":      "123456",
		"unmapped/sentinelone/alertInfo/eventType":            "REGVALUEMODIFIED",
		"unmapped/sentinelone/alertInfo/registryOldValueType": "BINARY",
		"unmapped/sentinelone/ruleInfo/s1ql":                  "EndpointName exists",
		"unmapped/sentinelone/agentRealtimeInfo/infected":     true,
		"unmapped/sentinelone/sourceParentProcessInfo":        map[string]any{"subsystem": "unknown"},
		"unmapped/sentinelone/containerInfo":                  nil,
	})
	f := rec.Flat
	require.Equal(t, "Critical", f.RuleSeverity)
	require.Equal(t, "new", AlertStatus(&f))
	require.EqualValues(t, 123456, f.SourceProcessPID)
	require.Equal(t, "123456", f.SourceProcessStoryline)
}

func TestAlertVariants(t *testing.T) {
	fx := fixtures(t, StreamAlerts)
	cases := map[string]map[string]any{
		"alert_process_rich": {
			"activity_id": 2.0, "status_id": 2.0, "verdict_id": 2.0, "severity_id": 4.0, "confidence_id": 2.0,
			"evidences/0/name": "source_process", "evidences/0/process/name": "powershell.exe", "evidences/0/process/pid": 7788.0,
			"evidences/0/process/cmd_line":            "powershell.exe -nop -w hidden -enc SQBFAFgA",
			"evidences/0/process/file/hashes/2/value": "de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c",
			"evidences/0/process/user/name":           "jdoe", "evidences/0/process/user/domain": "CORP",
			"evidences/0/process/integrity_id": 4.0, "evidences/0/process/parent_process/pid": 4120.0,
			"evidences/0/process/parent_process/name": "explorer.exe",
			"evidences/1/name":                        "target_file", "evidences/1/file/name": "payload.ps1", "evidences/1/file/modified_time": nil,
			"evidences/2/src_endpoint/ip": "10.20.30.41", "evidences/2/dst_endpoint/port": 443.0,
			"evidences/3/query/hostname": "update.evil-cdn.example",
			"evidences/4/user/name":      "svc_backup", "evidences/4/user/uid": "S-1-5-21-1004336348-1177238915-682003330-1105",
			"device/ip": "10.20.30.41", "device/org/uid": "1700000000000000001", "device/org/ou_uid": "1700000000000000010",
			"metadata/tenant_uid": "1700000000000000001", "metadata/correlation_uid": "1112131415161718",
		},
		"alert_resolved_fp": {
			"activity_id": 3.0, "status_id": 4.0, "verdict_id": 1.0, "is_alert": false, "severity_id": 2.0, "confidence_id": 0.0,
			"evidences/0/process/pid": 1234.0, "evidences/0/process/ancestry/0/name": "systemd",
			"evidences/1/name": "target_process", "evidences/1/process/uid": "ABCDEF0123456789", "evidences/1/process/pid": 5678.0,
			"device/os/type_id": 200.0, "device/type_id": 1.0,
		},
		"alert_quirks": {
			"finding_info/uid": "1830000000000000003", "status_id": 2.0, "verdict_id": 2.0, "severity_id": 3.0, "confidence_id": 3.0,
			"activity_id": 1.0, "evidences/0/process/pid": 999.0, "evidences/0/process/uid": nil,
			"evidences/0/process/created_time": nil, "evidences/1/file/name": "x", "evidences/1/file/created_time": nil,
			"device/org": nil, "device/os/type_id": 300.0, "device/uid_alt": nil, "device/agent_list/0/version": "23.4",
			"unmapped/sentinelone/agentDetectionInfo/siteId":         "1700000000000000013",
			"unmapped/sentinelone/alertInfo/isEdr":                   true,
			"unmapped/sentinelone/alertInfo/loginIsSuccessful":       false,
			"unmapped/sentinelone/targetProcessInfo/tgtFileIsSigned": "false",
			"unmapped/sentinelone/containerInfo/labels":              "app=web,tier=front",
		},
		"alert_nulls": {
			"finding_info/uid": "1830000000000000004", "finding_info/title": nil, "device": nil, "evidences": nil,
			"status_id": nil, "activity_id": 1.0, "severity_id": 0.0, "time": float64(testMeta.Now.UnixMilli()), "unmapped": nil,
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			_, doc := mustAlert(t, fx[name])
			requirePaths(t, doc, want)
		})
	}
	q, _ := mustAlert(t, fx["alert_quirks"])
	require.Equal(t, time.Date(2025, 8, 25, 11, 0, 5, 0, time.UTC), q.UpdatedAt, "no updatedAt: watermark = reportedAt")
	require.Equal(t, "in_progress", q.Flat.Status)
	require.Equal(t, "1700000000000000013", q.Flat.SiteID)
	n, _ := mustAlert(t, fx["alert_nulls"])
	require.True(t, n.UpdatedAt.IsZero())
	c, _ := mustAlert(t, []byte(`{"alertInfo":{"alertId":"1","createdAt":"2025-01-01T00:00:00Z"}}`))
	require.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), c.UpdatedAt, "watermark falls back to createdAt")
	r, _ := mustAlert(t, fx["alert_resolved_fp"])
	require.Equal(t, "resolved", AlertStatus(&r.Flat))
}

func TestDetectionErrors(t *testing.T) {
	cases := []struct {
		name, raw, want string
		alert           bool
	}{
		{"threat not an object", `[1]`, "ocsf: threat", false},
		{"threat invalid JSON", `{"id":`, "invalid JSON", false},
		{"threat missing id", `{"threatInfo":{"threatName":"x"}}`, `missing required field "id"`, false},
		{"threat bad threatInfo", `{"id":"1","threatInfo":"x"}`, `field "threatInfo"`, false},
		{"threat bad createdAt", `{"id":"1","threatInfo":{"createdAt":"yesterday"}}`, `threatInfo.createdAt`, false},
		{"threat bad engine", `{"id":"1","threatInfo":{"detectionEngines":[[1]]}}`, `detectionEngines`, false},
		{"threat bad indicators", `{"id":"1","indicators":{"a":1}}`, `field "indicators"`, false},
		{"alert missing id", `{"alertInfo":{"createdAt":"2025-01-01T00:00:00Z"}}`, `missing required field "alertInfo.alertId"`, true},
		{"alert null", `null`, `missing required field`, true},
		{"alert bad pid", `{"alertInfo":{"alertId":"1"},"sourceProcessInfo":{"pid":"abc"}}`, `sourceProcessInfo.pid`, true},
		{"alert bad ruleInfo", `{"alertInfo":{"alertId":"1"},"ruleInfo":[]}`, `field "ruleInfo"`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.alert {
				var r *AlertRecord
				r, err = Alert(json.RawMessage(tc.raw), testMeta)
				require.Nil(t, r)
			} else {
				var r *ThreatRecord
				r, err = Threat(json.RawMessage(tc.raw), testMeta)
				require.Nil(t, r)
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDetectionDeterministic(t *testing.T) {
	for name, raw := range fixtures(t, StreamThreats) {
		a, err := Threat(raw, testMeta)
		require.NoError(t, err)
		b, err := Threat(raw, testMeta)
		require.NoError(t, err)
		require.Equal(t, a.Event, b.Event, name)
	}
	for name, raw := range fixtures(t, StreamAlerts) {
		a, err := Alert(raw, testMeta)
		require.NoError(t, err)
		b, err := Alert(raw, testMeta)
		require.NoError(t, err)
		require.Equal(t, a.Event, b.Event, name)
	}
	// zero Meta still validates (no loggers, no times)
	r, err := Threat(fixtures(t, StreamThreats)["threat_nulls"], Meta{})
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDetectionFinding, r.Event))
}

// ---- flat rows ----

func checkRowType(t *testing.T, typ reflect.Type, cols []string, first string) {
	t.Helper()
	require.Len(t, cols, typ.NumField(), "every field has a db tag")
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	camel := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	seen, seenJSON := map[string]bool{}, map[string]bool{}
	for i, c := range cols {
		f := typ.Field(i)
		require.Regexp(t, snake, c)
		require.False(t, seen[c], "duplicate column %s", c)
		seen[c] = true
		require.Equal(t, f.Tag.Get("db"), c, "struct order")
		j := f.Tag.Get("json")
		require.Regexp(t, camel, j, f.Name)
		require.False(t, seenJSON[j], "duplicate json name %s", j)
		seenJSON[j] = true
		switch f.Type {
		case reflect.TypeFor[string](), reflect.TypeFor[int64](), reflect.TypeFor[bool](), reflect.TypeFor[*time.Time]():
		default:
			t.Fatalf("field %s has type %s, not one database/sql writes directly", f.Name, f.Type)
		}
	}
	require.Equal(t, first, cols[0])
}

// fillDistinct sets every field of a row struct to a distinct value.
func fillDistinct(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Bool:
			f.SetBool(i%2 == 0)
		case reflect.Pointer:
			tm := time.Unix(int64(i)*1000, 0).UTC()
			f.Set(reflect.ValueOf(&tm))
		}
	}
}

func TestThreatRowColumns(t *testing.T) {
	cols := ThreatColumns()
	checkRowType(t, reflect.TypeFor[ThreatRow](), cols, "threat_id")
	cols[0] = "mutated"
	require.Equal(t, "threat_id", ThreatColumns()[0], "ThreatColumns returns a copy")
	var r ThreatRow
	v := reflect.ValueOf(&r).Elem()
	fillDistinct(v)
	vals := r.Values()
	require.Len(t, vals, len(ThreatColumns()))
	for i := range vals {
		require.Equal(t, v.Field(i).Interface(), vals[i], "column %s", ThreatColumns()[i])
	}
}

func TestAlertRowColumns(t *testing.T) {
	cols := AlertColumns()
	checkRowType(t, reflect.TypeFor[AlertRow](), cols, "alert_id")
	cols[0] = "mutated"
	require.Equal(t, "alert_id", AlertColumns()[0], "AlertColumns returns a copy")
	var r AlertRow
	v := reflect.ValueOf(&r).Elem()
	fillDistinct(v)
	vals := r.Values()
	require.Len(t, vals, len(AlertColumns()))
	for i := range vals {
		require.Equal(t, v.Field(i).Interface(), vals[i], "column %s", AlertColumns()[i])
	}
}

// ---- mapping tables ----

func TestConfidenceMapping(t *testing.T) {
	for in, want := range map[string]struct {
		id, sev int
		caption string
	}{
		"malicious": {3, 4, "High"}, "MALICIOUS": {3, 4, "High"}, "suspicious": {2, 3, "Medium"}, "Suspicious": {2, 3, "Medium"},
		"n/a": {0, 0, "Unknown"}, "": {0, 0, "Unknown"}, "UNDEFINED": {0, 0, "Unknown"}, "weird": {99, 99, "weird"},
	} {
		id, c := confidenceOf(in)
		require.Equal(t, want.id, id, in)
		require.Equal(t, want.caption, c, in)
		sev, _ := threatSeverityOf(in)
		require.Equal(t, want.sev, sev, in)
	}
}

func TestVerdictMapping(t *testing.T) {
	for in, want := range map[string]struct {
		id      int
		caption string
	}{
		"true_positive": {2, "True Positive"}, "True positive": {2, "True Positive"}, "TRUE_POSITIVE": {2, "True Positive"},
		"false_positive": {1, "False Positive"}, "False positive": {1, "False Positive"},
		"suspicious": {4, "Suspicious"}, "Suspicious": {4, "Suspicious"},
		"undefined": {0, "Unknown"}, "Undefined": {0, "Unknown"}, "": {0, "Unknown"}, "benign?": {99, "benign?"},
	} {
		id, c := verdictOf(in)
		require.Equal(t, want.id, id, in)
		require.Equal(t, want.caption, c, in)
	}
}

func TestStatusMapping(t *testing.T) {
	for in, want := range map[string]struct {
		id      int
		caption string
		route   string
	}{
		"unresolved": {1, "New", "new"}, "Unresolved": {1, "New", "new"}, "UNRESOLVED": {1, "New", "new"},
		"in_progress": {2, "In Progress", "in_progress"}, "In progress": {2, "In Progress", "in_progress"},
		"IN_PROGRESS": {2, "In Progress", "in_progress"}, "resolved": {4, "Resolved", "resolved"},
		"Resolved": {4, "Resolved", "resolved"}, "": {0, "Unknown", "new"}, "escalated": {99, "escalated", "new"},
	} {
		id, c := incidentStatusOf(in)
		require.Equal(t, want.id, id, in)
		require.Equal(t, want.caption, c, in)
		require.Equal(t, want.route, ThreatStatus(&ThreatRow{IncidentStatus: in}), in)
		require.Equal(t, want.route, AlertStatus(&AlertRow{IncidentStatus: in}), in)
	}
	require.Equal(t, "resolved", ThreatStatus(&ThreatRow{IncidentStatus: "unresolved", Resolved: true}))
	require.Equal(t, "new", ThreatStatus(nil))
	require.Equal(t, "new", AlertStatus(nil))
}

func TestSeverityMapping(t *testing.T) {
	for in, want := range map[string]int{"Low": 2, "Medium": 3, "MEDIUM": 3, "High": 4, "Critical": 5, "Info": 1, "": 0, "Severe": 99} {
		id, _ := ruleSeverityOf(in)
		require.Equal(t, want, id, in)
	}
}

func TestDispositionMapping(t *testing.T) {
	step := func(action, status, at string) s1MitigationStep {
		s := s1MitigationStep{Action: FlexString(action), Status: FlexString(status)}
		if at != "" {
			tm, _ := time.Parse(time.RFC3339, at)
			s.LastUpdate = FlexTime{tm}
		}
		return s
	}
	cases := []struct {
		name, status string
		steps        []s1MitigationStep
		id, action   int
		caption      string
	}{
		{"mitigated, no actions", "mitigated", nil, 2, actionDenied, "Blocked"},
		{"mitigated kill", "mitigated", []s1MitigationStep{step("kill", "success", "")}, 2, actionDenied, "Blocked"},
		{"mitigated kill+quarantine", "mitigated", []s1MitigationStep{step("kill", "success", ""), step("quarantine", "success", "")}, 3, actionDenied, "Quarantined"},
		{"failed quarantine does not count", "mitigated", []s1MitigationStep{step("quarantine", "failed", "")}, 2, actionDenied, "Blocked"},
		{"network quarantine", "mitigated", []s1MitigationStep{step("network_quarantine", "success", "")}, 4, actionDenied, "Isolated"},
		{"remediate", "mitigated", []s1MitigationStep{step("quarantine", "success", ""), step("remediate", "success", "")}, 11, actionDenied, "Corrected"},
		{"rollback", "mitigated", []s1MitigationStep{step("rollback", "success", "")}, 11, actionDenied, "Corrected"},
		{"not mitigated", "not_mitigated", nil, 15, actionAllowed, "Detected"},
		{"benign", "marked_as_benign", nil, 10, actionAllowed, "Exonerated"},
		{"unquarantined last", "mitigated", []s1MitigationStep{step("quarantine", "success", "2025-01-01T00:00:00Z"), step("unquarantine", "success", "2025-01-02T00:00:00Z")}, 9, actionAllowed, "Restored"},
		{"requarantined after unquarantine", "mitigated", []s1MitigationStep{step("unquarantine", "success", "2025-01-01T00:00:00Z"), step("quarantine", "success", "2025-01-02T00:00:00Z")}, 3, actionDenied, "Quarantined"},
		{"absent", "", nil, 0, actionUnknown, "Unknown"},
		{"unknown status", "partially", nil, 99, actionUnknown, "partially"},
	}
	for _, tc := range cases {
		id, c, a := threatDisposition(tc.status, tc.steps)
		require.Equal(t, tc.id, id, tc.name)
		require.Equal(t, tc.caption, c, tc.name)
		require.Equal(t, tc.action, a, tc.name)
	}
}

func TestActivityMapping(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name             string
		created, updated time.Time
		resolved         bool
		id               int
	}{
		{"created == updated", t0, t0, false, ActivityCreate},
		{"no updatedAt", t0, time.Time{}, false, ActivityCreate},
		{"updated before created (clock skew)", t0, t0.Add(-time.Second), false, ActivityCreate},
		{"updated later", t0, t0.Add(time.Microsecond), false, ActivityUpdate},
		{"resolved wins", t0, t0, true, ActivityClose},
	}
	for _, tc := range cases {
		id, name := findingActivity(tc.created, tc.updated, tc.resolved)
		require.Equal(t, tc.id, id, tc.name)
		require.Equal(t, map[int]string{1: "Create", 2: "Update", 3: "Close"}[id], name)
	}
}

func TestMalwareClassificationMapping(t *testing.T) {
	for in, want := range map[string]int{
		"Malware": 99, "Trojan": 18, "Ransomware": 10, "Worm": 22, "Virus": 19, "Backdoor": 2, "Exploit": 8, "Cryptominer": 13,
		"Miner": 13, "Rootkit": 15, "Spyware": 17, "Adware": 1, "Keylogger": 9, "Remote Access": 11, "PUA": 99, "Hacktool": 99, "": 0,
	} {
		require.Equal(t, want, malwareClassification(in), in)
	}
}

func TestMitreParsing(t *testing.T) {
	a, label, ok := mitreAttack("Defense Evasion", "T1234", "https://example.com/")
	require.True(t, ok)
	require.Equal(t, "T1234", label)
	require.Equal(t, &mitreRef{UID: "TA0005", Name: "Defense Evasion"}, a.Tactic)
	require.Equal(t, &mitreRef{UID: "T1234", SrcURL: "https://example.com/"}, a.Technique)

	a, label, _ = mitreAttack("Execution", "PowerShell", "https://attack.mitre.org/techniques/T1059/001/")
	require.Equal(t, "T1059.001", label)
	require.Equal(t, "T1059", a.Technique.UID)
	require.Equal(t, &mitreRef{UID: "T1059.001", Name: "PowerShell", SrcURL: "https://attack.mitre.org/techniques/T1059/001/"}, a.SubTechnique)

	a, label, _ = mitreAttack("Custom Tactic", "Odd technique", "")
	require.Equal(t, "Odd technique", label)
	require.Equal(t, "", a.Tactic.UID)
	require.Equal(t, "Odd technique", a.Technique.Name)

	_, _, ok = mitreAttack("", "", "https://example.com/")
	require.False(t, ok)
	for in, want := range map[string]bool{"T1059": true, "T1059.001": true, "T105": false, "t1059": false, "T1059.01": false, "T1059x001": false} {
		require.Equal(t, want, isTechniqueID(in), in)
	}
}

func TestSmallBuilders(t *testing.T) {
	require.Equal(t, &actorUser{Name: "jdoe", Domain: "CORP"}, splitUser(`CORP\jdoe`))
	require.Equal(t, &actorUser{Name: "root"}, splitUser("root"))
	require.Nil(t, splitUser(" "))
	require.Equal(t, "a.exe", baseName(`C:\x\a.exe`))
	require.Equal(t, "b", baseName("/usr/bin/b"))
	require.Equal(t, "10.0.0.5", firstIP(FlexStrings{"10.0.0.5, 192.168.1.2"}))
	require.Nil(t, newFile("", "", "", "", ""))
	require.Equal(t, "abc", newFile("", "", "", "abc", "").Name, "hash-only file is named by its hash")
	require.Nil(t, compactObject(json.RawMessage(`{"a":null,"b":"None","c":{}}`)))
	require.JSONEq(t, `{"b":1}`, string(compactObject(json.RawMessage(`{"a":null,"b":1}`))))
}

// TestAllNullishObject: the allocation-free check agrees with decoding: where it says every
// member is nullish, compactObject's decode path drops them all; the objects consoles send
// with real members, or malformed ones, go to the decode path.
func TestAllNullishObject(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{`{ }`, true},
		{`{"id":null,"image":null,"labels":null,"name":null}`, true},
		{"{ \"a\" : null ,\n\t\"b\":\"None\", \"c\":\"\", \"d\":{}, \"e\":[], \"f\":\"N/A\" } ", true},
		{`{"k\"ey":"null","x\\":"NULL"}`, true},
		{`{"id":"abc123","image":null}`, false},
		{`{"id":null,"labels":{"app":"web"}}`, false},
		{`{"a":[null]}`, false},
		{`{"a":{ }}`, false}, // compactObject keeps "{ }": only exactly {} is dropped
		{`{"a":0}`, false},
		{`{"a":false}`, false},
		{`{"a":"N\/A"}`, false},
		{`{"a":nul}`, false},
		{`{"a":null`, false},
		{`{"a" null}`, false},
		{`{"a":null,}`, false},
		{`{"a":null} x`, false},
		{`{"a`, false},
		{`{"a":"`, false},
		{`{`, false},
	} {
		got := allNullishObject([]byte(c.in))
		assert.Equal(t, c.want, got, "%s", c.in)
		if got {
			assert.Nil(t, compactDecoded([]byte(c.in)), "decoding %s drops every member too", c.in)
		}
	}
	assert.JSONEq(t, `{"id":"abc123"}`, string(compactObject(json.RawMessage(`{"id":"abc123","image":null}`))))
}
