package ocsf

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAgentQuirks(t *testing.T) {
	cases := []struct {
		name  string
		raw   string
		check func(t *testing.T, r *AgentRecord, doc map[string]any)
	}{
		{"minimal: id only", `{"id":"1"}`, func(t *testing.T, r *AgentRecord, doc map[string]any) {
			require.Equal(t, "1", r.Key)
			require.True(t, r.UpdatedAt.IsZero())
			require.Equal(t, testMeta.Now.UnixMilli(), int64(doc["time"].(float64)), "time falls back to Meta.Now")
			v, _ := at(doc, "device/type_id")
			require.Equal(t, 0.0, v)
			require.Equal(t, "[]", r.Flat.Tags)
			require.Empty(t, r.Flat.AgentStatus)
		}},
		{"numeric id", `{"id":657613730168123595}`, func(t *testing.T, r *AgentRecord, _ map[string]any) {
			require.Equal(t, "657613730168123595", r.Key)
		}},
		{"booleans as strings", `{"id":"1","isActive":"True","isDecommissioned":"False","firewallEnabled":"True","isUpToDate":"true","infected":"FALSE"}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.True(t, r.Flat.IsActive)
				require.False(t, r.Flat.IsDecommissioned)
				require.Equal(t, "active", r.Flat.AgentStatus)
				v, _ := at(doc, "enrichments/0/data/is_firewall_enabled")
				require.Equal(t, true, v)
				v, _ = at(doc, "unmapped/sentinelone/isUpToDate")
				require.Equal(t, true, v)
				v, _ = at(doc, "enrichments/0/data/threat_level")
				require.Equal(t, "good", v)
			}},
		{"None strings and nulls", `{"id":"1","osUsername":"None","rangerVersion":"None","computerName":null,"cpuCount":null,"totalMemory":"None","isActive":"None","lastActiveDate":"None","osStartTime":null,"externalId":null,"domain":""}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.Empty(t, r.Flat.Hostname)
				require.Zero(t, r.Flat.CPUCount)
				require.Nil(t, r.Flat.LastActive)
				require.Nil(t, r.Flat.LastBoot)
				require.Empty(t, r.Flat.AgentStatus)
				_, ok := at(doc, "device/owner")
				require.False(t, ok, `"None" must not become a user name`)
				_, ok = at(doc, "unmapped/sentinelone/rangerVersion")
				require.False(t, ok)
				_, ok = at(doc, "device/domain")
				require.False(t, ok)
			}},
		{"missing networkInterfaces", `{"id":"1","externalIp":"3.3.3.3"}`, func(t *testing.T, r *AgentRecord, doc map[string]any) {
			require.Empty(t, r.Flat.IPAddresses)
			require.Equal(t, "3.3.3.3", r.Flat.ExternalIP)
			v, _ := at(doc, "device/ip")
			require.Equal(t, "3.3.3.3", v, "device.ip falls back to externalIp")
			_, ok := at(doc, "device/network_interfaces")
			require.False(t, ok)
		}},
		{"null networkInterfaces and null lists inside", `{"id":"1","networkInterfaces":[{"name":"eth0","physical":null,"inet":null,"inet6":null},{"id":null}]}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.Equal(t, "eth0", r.Flat.InterfaceName)
				require.Empty(t, r.Flat.MACAddress)
				v, _ := at(doc, "device/network_interfaces/0/name")
				require.Equal(t, "eth0", v)
				_, ok := at(doc, "device/network_interfaces/1")
				require.False(t, ok, "an all-empty interface is dropped")
			}},
		{"interface list order, dedup, hyphen MAC", `{"id":"1","networkInterfaces":[
			{"id":"a","name":"lo0","physical":"00-00-5E-00-53-00","inet6":["::1"]},
			{"id":"b","name":"en0","physical":"aa:bb:cc:dd:ee:ff","inet":["10.0.0.5","10.0.0.6"],"inet6":["fe80::1"],"gatewayIp":"10.0.0.1"},
			{"id":"c","name":"en1","physical":"aa:bb:cc:dd:ee:ff","inet":["10.0.0.5"],"gatewayIp":"10.0.0.1"}]}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.Equal(t, "::1,10.0.0.5,10.0.0.6,fe80::1", r.Flat.IPAddresses)
				require.Equal(t, "00:00:5E:00:53:00,aa:bb:cc:dd:ee:ff", r.Flat.MACAddress)
				require.Equal(t, "lo0,en0,en1", r.Flat.InterfaceName)
				require.Equal(t, "10.0.0.1", r.Flat.Gateway)
				for path, want := range map[string]any{
					"device/ip": "10.0.0.5", "device/mac": "aa:bb:cc:dd:ee:ff", "device/interface_name": "en0",
					"device/interface_uid": "b", "device/network_interfaces/0/ip": "::1",
				} {
					v, _ := at(doc, path)
					require.Equal(t, want, v, path)
				}
			}},
		{"timestamp forms", `{"id":"1","updatedAt":"2024-01-01 00:00:00.123000+00:00","createdAt":"2024-01-01T00:00:00","registeredAt":1704067200000,"lastActiveDate":"1704067200","osStartTime":"1970-01-01T00:00:00Z"}`,
			func(t *testing.T, r *AgentRecord, _ map[string]any) {
				want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
				require.Equal(t, want.Add(123*time.Millisecond), r.UpdatedAt)
				require.Equal(t, want, *r.Flat.CreatedAt)
				require.Equal(t, want, *r.Flat.RegisteredAt)
				require.Equal(t, want, *r.Flat.LastActive)
				require.Nil(t, r.Flat.LastBoot, "epoch sentinel means absent")
			}},
		{"numbers as strings and floats", `{"id":"1","cpuCount":"4","coreCount":8.0,"totalMemory":"16384","activeThreats":"3"}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.EqualValues(t, 4, r.Flat.CPUCount)
				require.EqualValues(t, 8, r.Flat.CoreCount)
				require.EqualValues(t, 16384, r.Flat.TotalMemoryMB)
				require.EqualValues(t, 3, r.Flat.ActiveThreats)
				v, _ := at(doc, "enrichments/0/data/threat_level")
				require.Equal(t, "bad", v)
			}},
		{"agent status precedence", `{"id":"1","isActive":true,"isDecommissioned":true,"isUninstalled":true}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.Equal(t, "uninstalled", r.Flat.AgentStatus)
				v, _ := at(doc, "device/is_managed")
				require.Equal(t, false, v)
			}},
		{"decommissioned", `{"id":"1","isActive":false,"isDecommissioned":"True"}`, func(t *testing.T, r *AgentRecord, _ map[string]any) {
			require.Equal(t, "decommissioned", r.Flat.AgentStatus)
		}},
		{"inactive", `{"id":"1","isActive":false}`, func(t *testing.T, r *AgentRecord, _ map[string]any) {
			require.Equal(t, "inactive", r.Flat.AgentStatus)
		}},
		{"tags as list, empty tag dropped", `{"id":"1","tags":[{"key":"a","value":"1"},{"key":null,"value":""}]}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				require.JSONEq(t, `[{"key":"a","value":"1"}]`, r.Flat.Tags)
				v, _ := at(doc, "metadata/tags/0/name")
				require.Equal(t, "a", v)
			}},
		{"tags empty scope object", `{"id":"1","tags":{"sentinelone":[]}}`, func(t *testing.T, r *AgentRecord, _ map[string]any) {
			require.Equal(t, "[]", r.Flat.Tags)
		}},
		{"os fallbacks and unknown osType", `{"id":"1","osType":"freebsd"}`, func(t *testing.T, r *AgentRecord, doc map[string]any) {
			v, _ := at(doc, "device/os/name")
			require.Equal(t, "freebsd", v)
			v, _ = at(doc, "device/os/type_id")
			require.Equal(t, 99.0, v)
		}},
		{"machine types", `{"id":"1","machineType":"kubernetes pod"}`, func(t *testing.T, _ *AgentRecord, doc map[string]any) {
			v, _ := at(doc, "device/type_id")
			require.Equal(t, 6.0, v)
		}},
		{"license key never emitted", `{"id":"1","licenseKey":"TOP-SECRET"}`, func(t *testing.T, r *AgentRecord, _ map[string]any) {
			require.NotContains(t, string(r.Event), "TOP-SECRET")
		}},
		{"html-ish strings survive", `{"id":"1","computerName":"a<b>&c","siteName":"x","accountId":"9"}`,
			func(t *testing.T, r *AgentRecord, doc map[string]any) {
				v, _ := at(doc, "device/hostname")
				require.Equal(t, "a<b>&c", v)
				v, _ = at(doc, "device/org/ou_name")
				require.Equal(t, "x", v)
			}},
		{"site without account goes to unmapped", `{"id":"1","siteId":"5","siteName":"S"}`, func(t *testing.T, _ *AgentRecord, doc map[string]any) {
			_, ok := at(doc, "device/org")
			require.False(t, ok)
			v, _ := at(doc, "unmapped/sentinelone/siteName")
			require.Equal(t, "S", v)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustAgent(t, tc.raw)
			require.Equal(t, HashRaw([]byte(tc.raw)), r.Hash)
			require.Equal(t, r.Key, r.Flat.AgentID)
			tc.check(t, r, eventDoc(t, r.Event))
		})
	}
}

func TestAgentErrors(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`{}`, `missing required field "id"`},
		{`null`, `missing required field "id"`},
		{`{"id":""}`, `missing required field "id"`},
		{`{"id":"None"}`, `missing required field "id"`},
		{`[]`, `cannot decode`},
		{`"x"`, `cannot decode`},
		{`{"id":"1"`, `ocsf: agent`},
		{`not json`, `invalid JSON`},
		{`{"id":"1","isActive":"maybe"}`, `field "isActive": cannot decode "maybe" as a boolean`},
		{`{"id":"1","updatedAt":"yesterday"}`, `field "updatedAt": cannot decode "yesterday" as a timestamp`},
		{`{"id":"1","cpuCount":"four"}`, `field "cpuCount": cannot decode "four" as an integer`},
		{`{"id":"1","computerName":{"a":1}}`, `field "computerName"`},
		{`{"id":{"x":1}}`, `field "id"`},
		{`{"id":"1","networkInterfaces":"eth0"}`, `field "networkInterfaces"`},
		{`{"id":"1","networkInterfaces":[{"inet":[1.5,{}]}]}`, `field "networkInterfaces.inet"`},
		{`{"id":"1","tags":"a=b"}`, `field "tags"`},
		{`{"id":"1","updatedAt":-1e300}`, `field "updatedAt": cannot decode -1e300 as a timestamp`},
		{`{"id":"1","createdAt":"99999999999999999"}`, `field "createdAt"`},
		{`{"id":"1","tags":{"sentinelone":"x"}}`, `field "tags"`},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			r, err := Agent(json.RawMessage(tc.raw), testMeta)
			require.Error(t, err)
			require.Nil(t, r)
			require.Contains(t, err.Error(), tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "ocsf: agent"), err.Error())
		})
	}
}

func TestAgentDeterministic(t *testing.T) {
	for name, raw := range agentFixtures(t) {
		a, err := Agent(raw, testMeta)
		require.NoError(t, err)
		b, err := Agent(raw, testMeta)
		require.NoError(t, err)
		require.Equal(t, string(a.Event), string(b.Event), name)
		m2 := testMeta
		m2.ConnectionID = "other"
		c, err := Agent(raw, m2)
		require.NoError(t, err)
		require.NotEqual(t, eventDoc(t, a.Event)["metadata"].(map[string]any)["uid"],
			eventDoc(t, c.Event)["metadata"].(map[string]any)["uid"], "event uid is per connection")
	}
}

// TestAgentZeroMeta: a zero Meta still produces a valid event (no loggers, no times).
func TestAgentZeroMeta(t *testing.T) {
	r, err := Agent(json.RawMessage(`{"id":"1"}`), Meta{})
	require.NoError(t, err)
	require.NoError(t, testValidator(t).Validate(ClassDeviceInventoryInfo, r.Event))
}

// TestAgentConcurrent: Agent and a shared Validator are safe for concurrent use (run with -race).
func TestAgentConcurrent(t *testing.T) {
	v := testValidator(t)
	fx := agentFixtures(t)
	done := make(chan error, len(fx)*4)
	for range 4 {
		for _, raw := range fx {
			go func() {
				r, err := Agent(raw, testMeta)
				if err == nil {
					err = v.Validate(ClassDeviceInventoryInfo, r.Event)
				}
				done <- err
			}()
		}
	}
	for range len(fx) * 4 {
		require.NoError(t, <-done)
	}
}
