package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// softwareFixture is a testdata/software/*.json file: the inventory item and one of its
// /inventory/endpoints items (both verbatim).
type softwareFixture struct {
	App      json.RawMessage `json:"app"`
	Endpoint json.RawMessage `json:"endpoint"`
}

func softwareFixtures(t testing.TB) map[string]softwareFixture {
	t.Helper()
	out := map[string]softwareFixture{}
	for name, b := range fixtures(t, "software") {
		var fx softwareFixture
		require.NoError(t, json.Unmarshal(b, &fx))
		out[name] = fx
	}
	return out
}

func mustSoftware(t testing.TB, app, ep []byte) (*SoftwareRecord, map[string]any) {
	t.Helper()
	rec, err := Software(app, ep, testMeta)
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassSoftwareInventoryInfo, rec.Event), "event: %s", rec.Event)
	return rec, eventDoc(t, rec.Event)
}

func TestSoftwareGolden(t *testing.T) {
	for name, fx := range softwareFixtures(t) {
		t.Run(name, func(t *testing.T) {
			rec, err := Software(fx.App, fx.Endpoint, testMeta)
			require.NoError(t, err)
			require.Equal(t, HashRaw(fx.Endpoint), rec.Hash)
			require.Equal(t, SoftwareKey(rec.Flat.EndpointID, rec.Flat.AppName, rec.Flat.Version), rec.Key)
			requireValuesMatchFields(t, &rec.Flat, rec.Flat.Values(), SoftwareColumns())
			checkGoldenClass(t, ClassSoftwareInventoryInfo, "software", name, rec.Event, rec.Flat)
		})
	}
}

// TestSoftwareReferenceValues checks the verbatim §6.8 /inventory/endpoints item.
func TestSoftwareReferenceValues(t *testing.T) {
	fx := softwareFixtures(t)["s1_inventory_endpoint_reference"]
	rec, doc := mustSoftware(t, fx.App, fx.Endpoint)
	require.Equal(t, "216970508828266268|7-Zip|8.17.3", rec.Key, "simulator truth key: endpointId|applicationName|version")
	require.Equal(t, "2025-06-19T18:00:51.16661Z", rec.UpdatedAt.Format(time.RFC3339Nano))
	f := rec.Flat
	require.Equal(t, SoftwareRow{
		EndpointID: "216970508828266268", EndpointUUID: "eb655be8be894dae97711ebb9a9091ae", EndpointName: "srv-win-defend-03",
		EndpointType: "server", AppName: "7-Zip", Vendor: "Igor Pavlov", Version: "8.17.3",
		InstalledAt: f.InstalledAt, DetectedAt: f.DetectedAt, CPE: "cpe:2.3:a:...", FileSize: 517364, OSType: "windows",
		OSName: "Windows Server 2022 Datacenter", OSVersion: "Windows Server 2022 Datacenter 20348", OSArch: "64 bit",
		AppID: "2218357748550497214", AccountName: "...", SiteName: "Default site", GroupName: "Default Group",
	}, f)
	require.Equal(t, "2025-04-13T10:45:01Z", f.InstalledAt.Format(time.RFC3339))
	requirePaths(t, doc, map[string]any{
		"class_uid": 5020.0, "category_uid": 5.0, "activity_id": 2.0, "type_uid": 502002.0, "severity_id": 1.0,
		"time": ms(t, "2025-06-19T18:00:51.166610Z"), "metadata/log_name": "applications",
		"package/name": "7-Zip", "package/vendor_name": "Igor Pavlov", "package/version": "8.17.3", "package/type_id": 1.0,
		"package/cpe_name": "cpe:2.3:a:...",
		"device/uid":       "216970508828266268", "device/uid_alt": "eb655be8be894dae97711ebb9a9091ae",
		"device/hostname": "srv-win-defend-03", "device/type_id": 1.0, "device/os/type_id": 100.0,
		"device/os/name": "Windows Server 2022 Datacenter", "device/os/cpu_bits": 64.0, "device/hw_info/cpu_count": 1.0,
		"device/hw_info/cpu_cores": 2.0, "device/groups/0/name": "Default Group", "device/org/name": "...",
		"device/org/ou_name": "Default site", "device/agent_list/0/uid": "216970508828266268",
		"unmapped/sentinelone/id": "2218357748550497214", "unmapped/sentinelone/fileSize": 517364.0,
		"unmapped/sentinelone/applicationInstallationDate": "2025-04-13T10:45:01Z",
		"unmapped/sentinelone/applicationInstallationPath": nil, "unmapped/sentinelone/endpointsCount": nil,
	})
	// the app item's counts do not change the record
	rec2, _ := mustSoftware(t, []byte(`{"applicationName":"7-Zip","applicationVendor":"Igor Pavlov","endpointsCount":13}`), fx.Endpoint)
	require.Equal(t, rec.Hash, rec2.Hash)
	require.Equal(t, string(rec.Event), string(rec2.Event))
}

func TestSoftwareVariants(t *testing.T) {
	fxs := softwareFixtures(t)
	rec, doc := mustSoftware(t, fxs["software_macos_quirks"].App, fxs["software_macos_quirks"].Endpoint)
	require.Equal(t, "216970508828266301|Slack|4.38", rec.Key)
	require.Equal(t, int64(312456789), rec.Flat.FileSize)
	require.Equal(t, "/Applications/Slack.app", rec.Flat.InstallPath)
	require.Empty(t, rec.Flat.EndpointUUID)
	require.Equal(t, time.UnixMilli(1712000000000).UTC(), *rec.Flat.InstalledAt)
	requirePaths(t, doc, map[string]any{"device/type_id": 3.0, "device/os/type_id": 300.0, "device/hw_info/cpu_architecture_id": 2.0,
		"device/org/name": "Acme Corp", "device/org/ou_name": "HQ", "unmapped/sentinelone/siteName": nil})

	rec, doc = mustSoftware(t, fxs["software_nulls_noapp"].App, fxs["software_nulls_noapp"].Endpoint)
	require.Equal(t, "216970508828266400|curl|7.81.0", rec.Key)
	require.Equal(t, "curl project", rec.Flat.Vendor, "no app item: the endpoint row's vendor")
	require.True(t, rec.UpdatedAt.IsZero())
	requirePaths(t, doc, map[string]any{"time": float64(testMeta.Now.UnixMilli()), "device/uid": "216970508828266400",
		"device/hostname": nil, "device/os/name": "linux"})

	// nil app, empty version
	rec, _ = mustSoftware(t, nil, []byte(`{"endpointId":"1","applicationName":"x"}`))
	require.Equal(t, "1|x|", rec.Key)

	for _, c := range []struct{ app, ep, want string }{
		{`{"applicationName":"x"}`, `{"applicationName":"x"}`, `"endpointId"`},
		{`{}`, `{"endpointId":"1"}`, `"applicationName"`},
		{`{"applicationName":[]}`, `{"endpointId":"1"}`, `field "applicationName"`},
		{`{}`, `{"endpointId":"1","applicationName":"x","fileSize":"big"}`, `field "fileSize"`},
		{`{}`, `[`, `invalid JSON`},
	} {
		_, err := Software([]byte(c.app), []byte(c.ep), testMeta)
		require.ErrorContains(t, err, c.want, c.app+" "+c.ep)
	}
	cols := SoftwareColumns()
	for _, c := range []string{"endpoint_id", "endpoint_name", "app_name", "vendor", "version", "installed_at", "os_type", "app_id"} {
		require.Contains(t, cols, c)
	}
}

// FuzzSoftware: Software must never panic; whatever it accepts is a valid OCSF 5020 event
// and a self-consistent record.
func FuzzSoftware(f *testing.F) {
	files, _ := filepath.Glob("testdata/software/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		var fx softwareFixture
		if json.Unmarshal(b, &fx) == nil {
			f.Add([]byte(fx.App), []byte(fx.Endpoint))
		}
	}
	f.Add([]byte(`null`), []byte(`{"endpointId":"1","applicationName":"a","osArch":"ARM64","endpointType":"weird"}`))
	f.Add([]byte(``), []byte(`{"endpointId":" ","applicationName":"a"}`))
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, app, ep []byte) {
		r, err := Software(app, ep, testMeta)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with error")
			}
			return
		}
		if r.Key == "" || r.Key != SoftwareKey(r.Flat.EndpointID, r.Flat.AppName, r.Flat.Version) || r.Hash != HashRaw(ep) {
			t.Fatalf("inconsistent record: %+v", r)
		}
		if err := v.Validate(ClassSoftwareInventoryInfo, r.Event); err != nil {
			t.Fatalf("event does not validate: %v\ninput: %s %s", err, app, ep)
		}
		if len(r.Flat.Values()) != len(SoftwareColumns()) {
			t.Fatal("values/columns length mismatch")
		}
	})
}

func BenchmarkSoftware(b *testing.B) {
	noEventCheck(b)
	fx := softwareFixtures(b)["s1_inventory_endpoint_reference"]
	b.ReportAllocs()
	b.SetBytes(int64(len(fx.Endpoint)))
	for b.Loop() {
		if _, err := Software(fx.App, fx.Endpoint, testMeta); err != nil {
			b.Fatal(err)
		}
	}
}
