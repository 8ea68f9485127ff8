package fastjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

// checkMarshalJSONB: MarshalJSONB(v) is byte for byte AppendJSONBOrder(json.Marshal(v)), or both fail.
func checkMarshalJSONB(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := MarshalJSONB(v)
	if werr != nil || gerr != nil {
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%#v: encoding/json error %v, MarshalJSONB error %v (output %s)", v, werr, gerr, got)
		}
		return
	}
	want, ok := AppendJSONBOrder(nil, want)
	if !ok {
		t.Fatalf("%#v: cannot reorder encoding/json's output", v)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%#v:\n got %s\nwant %s", v, got, want)
	}
}

type encInner struct {
	Z    string  `json:"z"`
	AA   int     `json:"aa,omitempty"`
	B    *bool   `json:"b,omitempty"`
	Up   *encRec `json:"up,omitempty"`
	Skip string  `json:"-"`
	//lint:ignore SA5008 encoding/json names this field "-"; the encoder must too
	Dash string `json:"-,"`
	//lint:ignore SA5008 a tag name encoding/json does not take (it uses the Go name)
	Bad string `json:"bad\"tag"`
}

type encRec struct {
	Name   string  `json:"name"`
	Parent *encRec `json:"parent,omitempty"`
}

type encBase struct {
	ClassUID int    `json:"class_uid"`
	Time     int64  `json:"time"`
	Msg      string `json:"message,omitempty"`
}

type encembedded struct {
	Hidden string `json:"hidden"`
}

// Embedded structs as encoding/json's typeFields treats them: an unexported one with a tag
// name is a field, one with an invalid tag name is promoted.
type encTagged struct {
	//lint:ignore SA5008 an invalid tag name: encoding/json promotes the fields
	encBase     `json:"'x"`
	encembedded `json:"emb,omitempty"`
	Other       int `json:"other"`
}

type encEvent struct {
	encBase
	encembedded
	Severity   string            `json:"severity"`
	Inner      encInner          `json:"inner"`
	InnerP     *encInner         `json:"inner_p,omitempty"`
	List       []encInner        `json:"list,omitempty"`
	Strs       []string          `json:"strs"`
	Ints       []int             `json:"ints,omitempty"`
	Map        map[string]any    `json:"map,omitempty"`
	StrMap     map[string]string `json:"str_map"`
	Any        any               `json:"any"`
	Raw        json.RawMessage   `json:"raw,omitempty"`
	F64        float64           `json:"f64"`
	F32        float32           `json:"f32,omitempty"`
	U          uint16            `json:"u"`
	Untagged   string
	unexported string    //lint:ignore U1000 encoding/json skips it, and so must MarshalJSONB
	When       time.Time `json:"when"`
	Empty      struct{}  `json:"empty,omitempty"`
}

// Types MarshalJSONB leaves to encoding/json (whole or inside an interface).
type (
	encWithArray  struct{ A [2]int }
	encWithBytes  struct{ B []byte }
	encWithIntMap struct{ M map[int]string }
	encWithString struct {
		N int `json:"n,string"`
	}
	encWithPtrEmb struct{ *encBase }
	encCollide    struct {
		encBase
		Time string `json:"time"`
	}
	encText        struct{ V int }
	encPtrMarsh    struct{ V int }
	encHasPtrMarsh struct {
		P encPtrMarsh  `json:"p"`
		Q *encPtrMarsh `json:"q"`
	}
	encOddName struct {
		Odd string `json:"<odd&>,omitempty"`
	}
	encBadMarsh struct{}
	encErrMarsh struct{}
)

func (t encText) MarshalText() ([]byte, error)      { return []byte("text"), nil }
func (p *encPtrMarsh) MarshalJSON() ([]byte, error) { return []byte(`{"z":1, "a" : [ 2 ]}`), nil }
func (encBadMarsh) MarshalJSON() ([]byte, error)    { return []byte(`{"a":`), nil }
func (encErrMarsh) MarshalJSON() ([]byte, error)    { return nil, errors.New("boom") }

var encStrings = []string{
	"", "plain", `quo"te back\slash`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"\u2028\u2029", "é ü 日本 😀", "bad \xff\xfe utf8 \xc3", "C:\\Windows\\System32",
}

func encCorpus() []any {
	yes := true
	rec := &encRec{Name: "child", Parent: &encRec{Name: "parent", Parent: &encRec{Name: "root"}}}
	full := encEvent{
		encBase:     encBase{ClassUID: 2004, Time: 1793598227312, Msg: "m"},
		encembedded: encembedded{Hidden: "promoted"},
		Severity:    "Low",
		Inner:       encInner{Z: "z", AA: 3, B: &yes, Up: rec, Skip: "no", Dash: "dash", Bad: "bad"},
		InnerP:      &encInner{},
		List:        []encInner{{Z: "a"}, {Z: "b", AA: -1}},
		Strs:        encStrings,
		Ints:        []int{1, -2, 3},
		Map: map[string]any{"zz": 1.5, "a": []any{map[string]any{"y": nil, "x": true}}, "mm": "s", "<k>": "html",
			"bad\xff": 1, "bad\xfe": 2, "nested": map[string]any{"bb": json.Number("12"), "a": []any{}}},
		StrMap:   map[string]string{"b": "1", "a": "2", "": "empty"},
		Any:      []any{encInner{Z: "in any"}, encWithArray{}, nil, 1.0, "s"},
		Raw:      json.RawMessage(" {\"b\": [1, {\"d\":1,\"c\":2}], \"a\": \"<&>\" } "),
		F64:      1e21,
		F32:      1.1,
		U:        65535,
		Untagged: "untagged",
		When:     time.Date(2026, 12, 2, 6, 0, 0, 123456789, time.UTC),
	}
	vals := []any{
		nil, true, 0, -7, uint64(math.MaxUint64), "s", 3.5, float32(0.1),
		encEvent{}, full, &full, []encEvent{full, {}}, map[string]encEvent{"x": full},
		rec, encInner{}, (*encInner)(nil), []any{nil}, map[string]any(nil), map[string]any{},
		json.RawMessage(`null`), json.RawMessage(nil), json.Number(""), json.Number("-1.5e3"), json.Number("1x"),
		json.Number(" 1"), json.Number("[1]"), []json.Number{"7"},
		json.RawMessage("{\"b\":\"\u2028 \u2029\",\"a\":1}"), json.RawMessage(`{"a":`), json.RawMessage(`[1, 2 ,3]`),
		json.RawMessage("{\"<\":1,\"ab\":2,\"&\":3,\"\u2028\":4,\"zz\":{\"\\u0061\":1,\"a\":2}}"),
		json.Number("1 "), json.Number("-0.5e+7"), json.Number("01"), json.Number("1."), json.Number("-"),
		encTagged{Other: 1, encembedded: encembedded{Hidden: "h"}}, encOddName{Odd: "odd"},
		map[string]int{"<": 1, "ab": 2, "a": 3}, map[string]int{`\u0061`: 1, "a": 2, "bb": 0},
		encWithArray{A: [2]int{1, 2}}, encWithBytes{B: []byte("bytes")}, encWithIntMap{M: map[int]string{2: "b", 1: "a"}},
		encWithString{N: 5}, encWithPtrEmb{&encBase{ClassUID: 1}}, encCollide{Time: "t"}, encText{V: 1},
		map[string]encText{"k": {}}, encHasPtrMarsh{}, &encHasPtrMarsh{Q: &encPtrMarsh{}}, []any{encHasPtrMarsh{}},
		encBadMarsh{}, encErrMarsh{}, []any{encBadMarsh{}}, math.NaN(), math.Inf(1), []any{math.Inf(-1)},
		struct {
			A any `json:"a"`
		}{A: &full},
		struct {
			M json.Marshaler `json:"m"`
		}{},
		struct {
			M json.Marshaler `json:"m"`
		}{M: json.RawMessage(`{"b":1,"a":[{"d":0,"c":"<"}]}`)},
	}
	for _, s := range encStrings {
		vals = append(vals, s, map[string]string{s: s})
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 123.456, 1e20, 1e21, -1e-9, 5e-324, math.MaxFloat64} {
		vals = append(vals, f, float32(f))
	}
	return vals
}

func TestMarshalJSONBMatchesEncodingJSON(t *testing.T) {
	for _, v := range encCorpus() {
		checkMarshalJSONB(t, v)
	}
	// The corpus's types that MarshalJSONB encodes itself, and the ones it leaves to encoding/json.
	for _, v := range []any{encEvent{}, encRec{}, map[string]any{}, []encInner{}, json.RawMessage{}, encTagged{}} {
		if encoderFor(reflectType(v)) == nil {
			t.Errorf("%T: no encoder", v)
		}
	}
	for _, v := range []any{encWithArray{}, encWithBytes{}, encWithIntMap{}, encWithString{}, encWithPtrEmb{}, encCollide{}, encText{}, encHasPtrMarsh{}, encOddName{}} {
		if encoderFor(reflectType(v)) != nil {
			t.Errorf("%T: has an encoder; encoding/json's rules for it are not followed", v)
		}
	}
}

func TestMarshalJSONBFallbacks(t *testing.T) {
	n := Fallbacks()
	for _, v := range []any{encEvent{Any: map[string]any{"a": []any{1.0}}, Raw: json.RawMessage(`{"b":1,"a":2}`)}, &encRec{Name: "x"}} {
		if _, err := MarshalJSONB(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := Fallbacks() - n; got != 0 {
		t.Errorf("%d values left to encoding/json, want none", got)
	}
	for _, v := range []any{encWithArray{}, encEvent{Any: encWithBytes{}}} {
		if _, err := MarshalJSONB(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := Fallbacks() - n; got != 2 {
		t.Errorf("%d values left to encoding/json, want 2", got)
	}
}

func TestMarshalJSONBDepth(t *testing.T) {
	nest := func(n int) any {
		var v any = "leaf"
		for range n {
			v = []any{v}
		}
		return v
	}
	// 600 levels of []any are 1,200 of the encoder's (slice and interface): still encoded.
	checkMarshalJSONB(t, nest(600))
	if _, err := MarshalJSONB(nest(maxEncodeDepth)); err == nil {
		t.Error("no error past the depth limit")
	}
}

// FuzzMarshalJSONB: any JSON decoded into interfaces and into a struct, encoded both ways.
func FuzzMarshalJSONB(f *testing.F) {
	for _, s := range jsonbCorpus {
		f.Add([]byte(s))
	}
	for _, v := range encCorpus() {
		if b, err := json.Marshal(v); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) == nil {
			checkMarshalJSONB(t, v)
		}
		var ev encEvent
		if json.Unmarshal(b, &ev) == nil {
			checkMarshalJSONB(t, ev)
		}
	})
}

func BenchmarkMarshalJSONB(b *testing.B) {
	full := encCorpus()[9]
	b.Run("MarshalJSONB", func(b *testing.B) {
		for b.Loop() {
			_, _ = MarshalJSONB(full)
		}
	})
	b.Run("goccy", func(b *testing.B) {
		for b.Loop() {
			_, _ = Marshal(full)
		}
	})
}

func reflectType(v any) reflect.Type { return reflect.TypeOf(v) }
