package fastjson

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// regFlex is flex with its UnmarshalJSON registered (called directly); flex itself is called
// through reflection.
type regFlex flex

func (f *regFlex) UnmarshalJSON(b []byte) error { return (*flex)(f).UnmarshalJSON(b) }

func init() { RegisterUnmarshaler[regFlex]() }

type plannedInner struct {
	Name flex            `json:"name"`
	Raw  json.RawMessage `json:"raw"`
}

type planned struct {
	ID    flex           `json:"id"`
	Code  regFlex        `json:"code,omitempty"`
	Info  plannedInner   `json:"info"`
	Items []plannedInner `json:"items"`
	Names []regFlex      `json:"names"`
	Skip  flex           `json:"-"`
	//lint:ignore U1000 an unexported field, which decoders must leave alone
	hidden flex
}

var plannedCorpus = []string{
	` { "id" : "1" , "code" : 7 , "info" : { "name" : "n" , "raw" : [1, {"a": "}"}] } , "items" : [ {"name": "a"} , null , {} ] , "names" : ["x", 2] } `,
	`{"unknown":{"deep":[1,{"b":"\"}]"}],"x":null},"id":"after unknown"}`,
	`{"ID":"case-insensitive"}`,
	`{"iD":"x","id":"y"}`,
	`{"i\u0064":"escaped key"}`,
	`{"ſkip":1,"id":"non-ASCII key"}`,
	`{"Skip":"ignored","-":"ignored too","hidden":"x"}`,
	`{"items":[{"name":"a"}],"items":[{"raw":1}]}`,
	`{"items":null}`,
	`{"items":[]}`,
	`{"names":[]}`,
	`{"items":{"not":"an array"}}`,
	`{"info":null}`,
	`{"info":"a string"}`,
	`{"info":{"name":{"bad":1}}}`,
	`{"id":1,"id":"2"}`,
	`{"info":{"name":"a"},"info":{"raw":true}}`,
	`{"code":"\ud83d\ude00","raw":"\u00e9"}`,
	`{}`,
	`null`,
	`[]`,
	`"string"`,
	`{"id":"1"} trailing`,
	`{"id":"1",}`,
	`{"id"}`,
	`{"items":[{"name":"a"},]}`,
}

// checkSamePlanned: Unmarshal (plan first) gives encoding/json's value and error, and
// whenever the plan alone succeeds its result is encoding/json's.
func checkSamePlanned(t *testing.T, in []byte) {
	t.Helper()
	var want, got, plan planned
	wantErr := json.Unmarshal(in, &want)
	gotErr := Unmarshal(in, &got)
	if wantErr != nil {
		require.Error(t, gotErr, "input %q", in)
		require.Equal(t, wantErr.Error(), gotErr.Error(), "input %q", in)
	} else {
		require.NoError(t, gotErr, "input %q", in)
		require.Equal(t, want, got, "input %q", in)
	}
	if json.Valid(in) && DecodePlanned(in, &plan) {
		require.NoError(t, wantErr, "the plan accepted %q", in)
		require.Equal(t, want, plan, "input %q", in)
	}
}

func TestPlannedMatchesEncodingJSON(t *testing.T) {
	for _, in := range append(plannedCorpus, corpus...) {
		checkSamePlanned(t, []byte(in))
	}
}

// TestPlannedDecodes: which inputs the plan decodes itself and which it hands back. A plan
// that bailed on everything would pass the comparison above and speed nothing up.
func TestPlannedDecodes(t *testing.T) {
	for in, want := range map[string]bool{
		plannedCorpus[0]:                        true,
		plannedCorpus[1]:                        true,
		`{"items":null,"info":null,"names":[]}`: true,
		`null`:                                  true,
		`{"ID":"x"}`:                            false, // only a case-insensitive match
		`{"i\u0064":"x"}`:                       false, // an escaped key
		`{"ſkip":1}`:                            false, // non-ASCII: Unicode folding might match
		`{"items":[],"items":[]}`:               false, // a repeated slice member
		`{"info":"a string"}`:                   false, // a type error
		`{"id":{"bad":1}}`:                      false, // the Unmarshaler's error
		`{"Skip":"x","hidden":"y"}`:             true,  // fields encoding/json ignores are skipped
		`{"names":[1,"2"],"code":3}`:            true,
		`{"names":[null]}`:                      false, // flex rejects null
	} {
		var v planned
		require.Equal(t, want, DecodePlanned([]byte(in), &v), "input %s", in)
	}
}

// TestNoPlan: types with anything a plan does not decode exactly get none.
func TestNoPlan(t *testing.T) {
	type embedded struct{ plannedInner }
	type untagged struct{ Name flex }
	type plainString struct {
		Name string `json:"name"`
	}
	type stringOpt struct {
		Code flex `json:"code,string"`
	}
	type pointer struct {
		Info *plannedInner `json:"info"`
	}
	type collide struct {
		A flex `json:"a"`
		B flex `json:"A"`
	}
	type recursive struct {
		Kids []recursive `json:"kids"`
	}
	for _, v := range []any{&embedded{}, &untagged{}, &plainString{}, &stringOpt{}, &pointer{}, &collide{}, &recursive{}, &record{}} {
		require.False(t, DecodePlanned([]byte(`{}`), v), "%T", v)
		require.Nil(t, planFor(reflect.TypeOf(v).Elem()), "%T", v)
	}
	require.NotNil(t, planFor(reflect.TypeFor[planned]()))
}

// FuzzPlanned compares the planned path with encoding/json on arbitrary input.
func FuzzPlanned(f *testing.F) {
	for _, in := range append(plannedCorpus, corpus...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkSamePlanned(t, in) })
}
