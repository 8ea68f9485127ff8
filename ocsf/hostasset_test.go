package ocsf

import (
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHostAssetColumns(t *testing.T) {
	cols := HostAssetColumns()
	typ := reflect.TypeFor[HostAsset]()
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
	cols[0] = "mutated"
	require.Equal(t, "agent_id", HostAssetColumns()[0], "HostAssetColumns returns a copy")
}

// TestHostAssetValuesAlign fills every field with a distinct value and checks Values()
// returns exactly the fields in column order.
func TestHostAssetValuesAlign(t *testing.T) {
	var h HostAsset
	v := reflect.ValueOf(&h).Elem()
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
	vals := h.Values()
	require.Len(t, vals, len(HostAssetColumns()))
	for i := range vals {
		require.Equal(t, v.Field(i).Interface(), vals[i], "column %s", HostAssetColumns()[i])
	}
}

// TestHostAssetFields checks every HostAsset field against one realistic agent.
func TestHostAssetFields(t *testing.T) {
	fx := agentFixtures(t)
	r := mustAgent(t, string(fx["s1_agent_linux_cloud_quirks"]))
	ts := func(s string) *time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return &tm
	}
	want := HostAsset{
		AgentID:          "1463923453867254783",
		UUID:             "9b2f1c0e8d7a4e6f9a1b2c3d4e5f6a7b",
		Hostname:         "ip-10-20-30-40",
		Processor:        "Neoverse-V1",
		LastBoot:         ts("2024-05-01T06:00:00Z"),
		SerialNumber:     "",
		CPUCount:         2,
		CoreCount:        2,
		IPAddresses:      "10.20.30.40,fe80::81b:2cff:fe3d:4e5f,172.17.0.1",
		ExternalIP:       "54.1.2.3",
		Model:            "Amazon EC2 - m7g.large",
		Manufacturer:     "",
		Gateway:          "10.20.30.1",
		InterfaceName:    "ens5,docker0",
		MACAddress:       "0A:1B:2C:3D:4E:5F,02:42:ac:11:00:01",
		OSArch:           "ARM64",
		OSName:           "Linux",
		OSVersion:        "Ubuntu 22.04.4 LTS 6.5.0-1018-aws",
		OSType:           "linux",
		TotalMemoryMB:    7834,
		Domain:           "",
		AgentVersion:     "24.1.2.6",
		AgentStatus:      "active",
		NetworkStatus:    "connected",
		MachineType:      "kubernetes node",
		LastActive:       ts("2025-08-26T09:29:58Z"),
		LastLoggedInUser: "ubuntu",
		SiteID:           "1234567890123456790",
		SiteName:         "Production",
		GroupID:          "1234567890123456791",
		GroupName:        "Linux Servers",
		AccountID:        "1234567890123456789",
		AccountName:      "Acme Corp",
		Tags:             `[{"key":"env","value":"prod"},{"key":"team","value":"platform, infra"}]`,
		IsActive:         true,
		Infected:         true,
		ActiveThreats:    2,
		IsDecommissioned: false,
		IsUninstalled:    false,
		RegisteredAt:     ts("2024-01-15T10:00:00.1Z"),
		CreatedAt:        ts("2024-01-15T10:00:00.123456Z"),
		UpdatedAt:        ts("2025-08-26T09:30:00.654321Z"),
	}
	got := r.Flat
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		require.Equal(t, wv.Field(i).Interface(), gv.Field(i).Interface(), name)
	}
	require.Equal(t, *want.UpdatedAt, r.UpdatedAt, "record watermark = updatedAt")

	// Sekoia-shape aliases fill the same columns
	s := mustAgent(t, string(fx["sekoia_active_device"])).Flat
	require.Equal(t, "LAPTOP-JOHN-DEV", s.Hostname)
	require.EqualValues(t, 8, s.CPUCount)
	require.EqualValues(t, 16384, s.TotalMemoryMB)
	require.Equal(t, "Windows 10 Pro", s.OSName)
	require.Equal(t, "22H2", s.OSVersion)
	require.Equal(t, "192.168.1.100,10.0.0.50,fe80::1234:5678:90ab:cdef", s.IPAddresses)
	require.Equal(t, "Dell", s.Manufacturer)
	require.Equal(t, "connected", s.NetworkStatus)
	require.Equal(t, "active", s.AgentStatus)
}
