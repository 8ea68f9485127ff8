package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// xdrHost returns the agent row joined to an asset: testdata/hosts/<agent.id>.json when present.
func xdrHost(t testing.TB, raw []byte) *HostAsset {
	t.Helper()
	var a struct {
		Agent *struct {
			ID FlexString `json:"id"`
		} `json:"agent"`
	}
	if json.Unmarshal(raw, &a) != nil || a.Agent == nil {
		return nil
	}
	return testHost(t, a.Agent.ID.String())
}

func mustXDR(t testing.TB, raw []byte, h *HostAsset) (*XDRAssetRecord, map[string]any) {
	t.Helper()
	rec, err := XDRAsset(raw, testMeta, h)
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDeviceInventoryInfo, rec.Event), "event: %s", rec.Event)
	return rec, eventDoc(t, rec.Event)
}

func TestXDRAssetGolden(t *testing.T) {
	for name, raw := range fixtures(t, StreamXDRAssets) {
		t.Run(name, func(t *testing.T) {
			rec, err := XDRAsset(raw, testMeta, xdrHost(t, raw))
			require.NoError(t, err)
			require.Equal(t, HashRaw(raw), rec.Hash)
			require.Equal(t, rec.Key, rec.Flat.AssetID)
			requireValuesMatchFields(t, &rec.Flat, rec.Flat.Values(), XDRAssetColumns())
			checkGoldenClass(t, ClassDeviceInventoryInfo, StreamXDRAssets, name, rec.Event, rec.Flat)
		})
	}
}

// TestQualysAssetMapColumns: every row of the Qualys host asset transformation map
// (seeds/000) has a column of XDRAssetRow.
func TestQualysAssetMapColumns(t *testing.T) {
	qualys := map[string]string{
		"externalAssetId": "asset_id", "hostName": "host_name", "processorDescription": "processor", "lastBoot": "last_boot",
		"serialNumber": "serial_number", "numberOfCpu": "cpu_count", "ipAddress": "ip_address", "model": "model",
		"gatewayAddress": "gateway", "interfaceName": "interface_name", "macAddress": "mac_address",
		"operatingSystemArchitecture": "os_arch", "operatingSystemName": "os_name", "operatingSystemVersion": "os_version",
		"biosInfoTotalMemory": "total_memory_mb",
	}
	require.Len(t, qualys, 15, "the map has 15 rows")
	cols := map[string]bool{}
	for _, c := range XDRAssetColumns() {
		cols[c] = true
	}
	for target, col := range qualys {
		require.True(t, cols[col], "Qualys %s → column %s missing", target, col)
	}
}

// TestXDRAssetJoin: the Qualys sources win (agentInfo.* from the agent; cpu, lastRebootDt,
// serialNumber from the asset) and the other source fills gaps.
func TestXDRAssetJoin(t *testing.T) {
	raw := fixtures(t, StreamXDRAssets)["xdr_endpoint_joined"]
	h := xdrHost(t, raw)
	require.NotNil(t, h)
	rec, doc := mustXDR(t, raw, h)
	f := rec.Flat
	require.Equal(t, "2162143406517026960", rec.Key)
	require.Equal(t, "2025-07-29T19:30:12Z", rec.UpdatedAt.Format(time.RFC3339Nano))
	require.True(t, f.AgentJoined)
	require.Equal(t, "2162143406517023959", f.AgentID)
	require.Equal(t, "DESKTOP-R1E2DQ2", f.HostName)
	require.Equal(t, "13th Gen Intel(R) Core(TM) i7-1365U", f.Processor)
	require.Equal(t, "2025-07-28T07:58:31Z", f.LastBoot.Format(time.RFC3339), "lastRebootDt, not the agent's osStartTime")
	require.Equal(t, "5CG1234XYZ", f.SerialNumber)
	require.Equal(t, int64(1), f.CPUCount)
	require.Equal(t, "203.0.113.25", f.IPAddress)
	require.Equal(t, "Dell Inc. - Latitude 7440", f.Model, "agentInfo.modelName wins")
	require.Equal(t, "192.168.1.1", f.Gateway)
	require.Equal(t, "Wi-Fi", f.InterfaceName)
	require.Equal(t, "3C:A9:F4:12:34:56", f.MACAddress)
	require.Equal(t, "Windows 11 Pro", f.OSName)
	require.Equal(t, "22631", f.OSVersion)
	require.Equal(t, int64(16076), f.TotalMemoryMB, "agentInfo.totalMemory wins over memory bytes")
	require.Equal(t, `[{"key":"env","value":"prod"}]`, f.Tags)
	requirePaths(t, doc, map[string]any{
		"device/uid": "2162143406517026960", "device/uid_alt": "9c3a1e4f5b6d4e2f8a7b6c5d4e3f2a1b",
		"device/type_id": 2.0, "device/os/type_id": 100.0, "device/is_managed": true,
		"device/agent_list/0/uid": "2162143406517023959", "device/agent_list/0/version": "24.1.2.6",
		"device/network_interfaces/0/name": "Wi-Fi", "device/network_interfaces/0/mac": "3C:A9:F4:12:34:56",
		"device/boot_time": ms(t, "2025-07-28T07:58:31Z"), "device/owner/name": "jdoe",
		"metadata/tenant_uid": "433241117337583618", "metadata/log_name": "xdr_assets", "metadata/tags/0/name": "env",
		"unmapped/sentinelone/agent/consoleConnectivity": "Online",
	})

	// the same asset without its agent: asset values only
	rec, _ = mustXDR(t, raw, nil)
	require.False(t, rec.Flat.AgentJoined)
	require.Equal(t, "Latitude 7440", rec.Flat.Model)
	require.Equal(t, int64(16077), rec.Flat.TotalMemoryMB, "16857956352 bytes >> 20")
	require.Zero(t, rec.Flat.CPUCount)
	require.Equal(t, "22631", rec.Flat.OSVersion)
}

func TestXDRAssetVariants(t *testing.T) {
	fx := fixtures(t, StreamXDRAssets)
	rec, doc := mustXDR(t, fx["purple_mcp_reference"], nil)
	require.Equal(t, "test-item-123", rec.Key)
	require.True(t, rec.UpdatedAt.IsZero())
	require.Equal(t, "EDR,Firewall", rec.Flat.ActiveCoverage)
	requirePaths(t, doc, map[string]any{"device/uid": "test-item-123", "device/uid_alt": "secondary-id-1",
		"device/name": "Test Server", "device/type_id": 1.0, "device/is_managed": false,
		"time": ms(t, "2024-01-15T10:30:00Z"), "unmapped/sentinelone/assetEnvironment": "Testing"})

	rec, doc = mustXDR(t, fx["xdr_quirks_unjoined"], nil)
	require.Equal(t, "1234567890123", rec.Key)
	require.True(t, rec.Flat.IsDecommissioned)
	require.Equal(t, int64(8192), rec.Flat.TotalMemoryMB)
	require.Equal(t, "10.0.3.17,10.0.3.18", rec.Flat.IPAddresses)
	require.Equal(t, "Active Threats", rec.Flat.RiskFactors)
	require.Equal(t, `[{"key":"Name","value":"worker-17"},{"key":"team","value":"platform"}]`, rec.Flat.Tags)
	requirePaths(t, doc, map[string]any{"device/is_managed": false, "device/os/type_id": 200.0, "device/region": "eu-west-1",
		"device/hw_info/cpu_architecture_id": 2.0, "device/org": nil, "unmapped/sentinelone/s1SiteName": "cloud",
		"unmapped/sentinelone/isAdConnector": false, "unmapped/sentinelone/alertsCount/0/count": 2.0})

	rec, doc = mustXDR(t, fx["xdr_nulls"], nil)
	require.Equal(t, "[]", rec.Flat.Tags)
	requirePaths(t, doc, map[string]any{"device/uid": "9000000000000000001", "device/type_id": 0.0, "unmapped": nil,
		"time": float64(testMeta.Now.UnixMilli())})

	for in, want := range map[string]string{
		`{}`:                         `missing required field "id"`,
		`{"id":"1","memory":"8 GB"}`: `field "memory"`,
		`{"id":"1","agent":"x"}`:     `field "agent"`,
		`{"id":"1","tags":"x"}`:      `field "tags"`,
	} {
		_, err := XDRAsset([]byte(in), testMeta, nil)
		require.ErrorContains(t, err, want, in)
	}
}

// FuzzXDRAsset: XDRAsset must never panic; whatever it accepts is a valid OCSF 5001 event.
func FuzzXDRAsset(f *testing.F) {
	files, _ := filepath.Glob("testdata/xdr_assets/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b, true)
		}
	}
	f.Add([]byte(`{"id":"1","agent":{"isDecommissioned":"yes"},"networkInterfaces":[{}]}`), false)
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	host := testHost(f, "2162143406517023959")
	f.Fuzz(func(t *testing.T, raw []byte, join bool) {
		var h *HostAsset
		if join {
			h = host
		}
		r, err := XDRAsset(raw, testMeta, h)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with error")
			}
			return
		}
		if r.Key == "" || r.Key != r.Flat.AssetID || r.Hash != HashRaw(raw) {
			t.Fatalf("inconsistent record: %+v", r)
		}
		if err := v.Validate(ClassDeviceInventoryInfo, r.Event); err != nil {
			t.Fatalf("event does not validate: %v\ninput: %s", err, raw)
		}
		if len(r.Flat.Values()) != len(XDRAssetColumns()) {
			t.Fatal("values/columns length mismatch")
		}
	})
}

func BenchmarkXDRAsset(b *testing.B) {
	noEventCheck(b)
	raw, err := os.ReadFile("testdata/xdr_assets/xdr_endpoint_joined.json")
	if err != nil {
		b.Fatal(err)
	}
	h := xdrHost(b, raw)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := XDRAsset(raw, testMeta, h); err != nil {
			b.Fatal(err)
		}
	}
}
