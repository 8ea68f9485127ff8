package fastjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type flex string

// UnmarshalJSON accepts strings and numbers, like the transforms' flexible types.
func (f *flex) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flex(s)
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		*f = flex(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[flex]()}
}

type inner struct {
	Name  flex              `json:"name"`
	Count int64             `json:"count"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
}

type record struct {
	ID        flex             `json:"id"`
	Active    bool             `json:"isActive"`
	Score     float64          `json:"score"`
	UpdatedAt time.Time        `json:"updatedAt"`
	Info      *inner           `json:"info"`
	Items     []inner          `json:"items"`
	Raw       json.RawMessage  `json:"raw"`
	Any       any              `json:"any"`
	Extra     map[string]inner `json:"extra"`
}

var corpus = []string{
	`{"id":"1","isActive":true,"score":1.5,"updatedAt":"2024-01-02T03:04:05.123456Z","info":{"name":7,"count":3,"tags":["a","b"],"attrs":{"k":"v"}},"items":[{"name":"x"}],"raw":{"a":[1,2,{"b":null}]},"any":[1,"2",true,null,{"x":1.25e3}],"extra":{"z":{"count":1}}}`,
	`{"ID":"case-insensitive","ISACTIVE":false}`,
	`{"id":{"nested":1}}`,
	`{"id":"1","info":{"count":"three"}}`,
	`{"id":"1","updatedAt":"yesterday"}`,
	`{"id":"1","items":{"not":"an array"}}`,
	`{"id":"1"} trailing`,
	`{"id":"1",}`,
	`{"id":"\ud83d\ude00 \u00e9 <&>"}`,
	"{\"id\":\"\xff\xfe invalid utf8\"}",
	"{\"info\":{\"tags\":[\"\xff\xfe invalid utf8 in a plain string\"]}}",
	`{"score":1e400}`,
	`[]`,
	`null`,
	`{"id":"1","id":"2"}`,
	`{"raw":nul}`,
}

// TestUnmarshalMatchesEncodingJSON: the same value and the same error (text and all) as
// encoding/json on every corpus input.
func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	for _, in := range corpus {
		checkSame(t, []byte(in))
	}
}

func checkSame(t *testing.T, in []byte) {
	t.Helper()
	var want, got record
	wantErr := json.Unmarshal(in, &want)
	gotErr := Unmarshal(in, &got)
	if wantErr != nil {
		require.Error(t, gotErr, "input %q", in)
		require.Equal(t, wantErr.Error(), gotErr.Error(), "input %q", in)
		return
	}
	require.NoError(t, gotErr, "input %q", in)
	require.Equal(t, want, got, "input %q", in)
}

// TestUnmarshalFallbackStartsClean: a value the fast decoder half-filled before failing is
// reset before encoding/json decodes it.
func TestUnmarshalFallbackStartsClean(t *testing.T) {
	var r record
	err := Unmarshal([]byte(`{"id":"1","info":{"count":"three"}}`), &r)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "info.count"), "encoding/json's error names the field path: %v", err)
}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	v := record{ID: "a<b>&c", Active: true, Score: 0.1, UpdatedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		Info: &inner{Name: "é", Attrs: map[string]string{"z": "1", "a": "2", "m": "3"}}, Raw: json.RawMessage(`{"b": 1, "a": [ 2 ]}`),
		Any: map[string]any{"y": 1.5, "x": []any{"\u2028", nil}}, Extra: map[string]inner{"b": {}, "a": {Tags: []string{}}}}
	want, err := json.Marshal(v)
	require.NoError(t, err)
	got, err := Marshal(v)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

// FuzzUnmarshal compares the fast path with encoding/json on arbitrary input.
func FuzzUnmarshal(f *testing.F) {
	for _, in := range corpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSame(t, in) })
}
