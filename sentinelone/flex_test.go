package sentinelone

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlexBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{`true`, true, false}, {`false`, false, false},
		{`"True"`, true, false}, {`"False"`, false, false},
		{`"true"`, true, false}, {`"false"`, false, false},
		{`"TRUE"`, true, false}, {`"1"`, true, false}, {`"0"`, false, false},
		{`1`, true, false}, {`0`, false, false},
		{`null`, false, false}, {`""`, false, false}, {`" True "`, true, false},
		{`"yes"`, false, true}, {`2`, false, true}, {`{}`, false, true}, {`[true]`, false, true}, {`"tru`, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var v struct {
				B FlexBool `json:"b"`
			}
			v.B = true // must be overwritten (null → false)
			err := json.Unmarshal([]byte(`{"b":`+tc.in+`}`), &v)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.B.Bool())
			out, err := json.Marshal(v.B)
			require.NoError(t, err)
			assert.JSONEq(t, map[bool]string{true: "true", false: "false"}[tc.want], string(out))
		})
	}
	// The demisto agent fixture quirk (§7).
	var agent struct {
		FirewallEnabled FlexBool `json:"firewallEnabled"`
		IsUpToDate      FlexBool `json:"isUpToDate"`
		IsActive        FlexBool `json:"isActive"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"firewallEnabled":"True","isUpToDate":"True","isActive":false}`), &agent))
	assert.True(t, bool(agent.FirewallEnabled))
	assert.True(t, bool(agent.IsUpToDate))
	assert.False(t, bool(agent.IsActive))
}

func TestFlexTime(t *testing.T) {
	u := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tm.UTC()
	}
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{"micro fraction Z", `"2022-04-21T05:14:08.925421Z"`, u("2022-04-21T05:14:08.925421Z"), false},
		{"no fraction", `"2019-06-27T08:00:31Z"`, u("2019-06-27T08:00:31Z"), false},
		{"offset", `"2024-01-01T02:00:00.5+02:00"`, u("2024-01-01T00:00:00.5Z"), false},
		{"python str", `"2024-01-01 00:00:00.123000+00:00"`, u("2024-01-01T00:00:00.123Z"), false},
		{"no zone", `"2024-01-01T00:00:00.123456"`, u("2024-01-01T00:00:00.123456Z"), false},
		{"epoch sentinel", `"1970-01-01T00:00:00Z"`, u("1970-01-01T00:00:00Z"), false},
		{"far future sentinel", `"2185-07-21T23:34:33.709552Z"`, u("2185-07-21T23:34:33.709552Z"), false},
		{"epoch ms number", `1514978890136`, time.UnixMilli(1514978890136).UTC(), false},
		{"epoch s number", `1514978890`, time.Unix(1514978890, 0).UTC(), false},
		{"null", `null`, time.Time{}, false},
		{"empty", `""`, time.Time{}, false},
		{"garbage", `"yesterday"`, time.Time{}, true},
		{"object", `{}`, time.Time{}, true},
		{"bool", `true`, time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				T FlexTime `json:"t"`
			}
			err := json.Unmarshal([]byte(`{"t":`+tc.in+`}`), &v)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.True(t, tc.want.Equal(v.T.Time), "got %s want %s", v.T.Time, tc.want)
			if !v.T.IsZero() {
				assert.Equal(t, time.UTC, v.T.Location())
			}
			out, err := json.Marshal(v.T)
			require.NoError(t, err)
			var back FlexTime
			require.NoError(t, json.Unmarshal(out, &back))
			assert.True(t, v.T.Equal(back.Time), "round trip")
		})
	}
	out, err := json.Marshal(FlexTime{})
	require.NoError(t, err)
	assert.Equal(t, "null", string(out))
}

func TestFlexInt(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`42`, 42, false}, {`"42"`, 42, false}, {`" 42 "`, 42, false}, {`-7`, -7, false},
		{`5.0`, 5, false}, {`"5.0"`, 5, false}, {`1e3`, 1000, false},
		{`"433241117337583618"`, 433241117337583618, false}, {`9223372036854775807`, 9223372036854775807, false},
		{`null`, 0, false}, {`""`, 0, false},
		{`5.5`, 0, true}, {`"abc"`, 0, true}, {`true`, 0, true}, {`[]`, 0, true}, {`1e300`, 0, true}, {`9223372036854775808`, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var v struct {
				N FlexInt `json:"n"`
			}
			err := json.Unmarshal([]byte(`{"n":`+tc.in+`}`), &v)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.N.Int64())
			out, err := json.Marshal(v.N)
			require.NoError(t, err)
			var back FlexInt
			require.NoError(t, json.Unmarshal(out, &back))
			assert.Equal(t, v.N, back)
		})
	}
}

func TestFlexString(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{`"7.5"`, "7.5", false}, {`7.5`, "7.5", false}, {`30`, "30", false}, {`true`, "true", false},
		{`null`, "", false}, {`{}`, "", true}, {`[1]`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var v struct {
				S FlexString `json:"s"`
			}
			err := json.Unmarshal([]byte(`{"s":`+tc.in+`}`), &v)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.S.String())
		})
	}
}
