package fastjson

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var jsonbCorpus = []string{
	`{}`, `[]`, `null`, `"s"`, `-1.5e3`, `true`, ` {"b":1,"a":2} `,
	`{"bb":1,"a":2,"ccc":{"zz":[{"y":1,"x":2},{}],"a":null}}`,
	`{"b":1,"a":2,"b":3,"a":4}`, // repeated keys keep their order (the last one is kept)
	"{\n  \"name\" : \"x\" ,\t\"id\":[ 1 , 2 ,\r\n 3 ] }",
	`{"p\"q":1,"p":2,"\u0041":3,"B":4}`, `[{"k":"v\\\"","j":"\\"}, "x", [[{"b":[],"a":{}}]]]`,
	`{"é":1,"e":2,"日本":3}`,
	`{"\u0061":1,"a":2}`, `{"b":{"\u0062":1,"b":2},"a":[{"y":1,"x":2}]}`, // escaped keys: the object keeps its order
	"{\"\xa9\":0,\"\x9c\":1}", // invalid UTF-8 keys are one key (U+FFFD) too
}

var jsonbInvalid = []string{
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{a:1}`, `[1,]`, `[1 2]`,
	`[`, `]`, `{"a":1}}`, `{"a":1} x`, `[1}`, `{"a":[1}]`, `{"a":1]`, `"unterminated`, `{"a`,
	`[1"a"]`, `{"a":1,"b"`, `{"a":1,"b":`, `[,1]`, `{,}`, `{"a"::1}`, `:`, `,`,
}

// checkJSONBOrder: the output holds the same JSON value as src (encoding/json, numbers as
// written) with every object's keys in jsonb's order, or src is not well-formed.
func checkJSONBOrder(t *testing.T, src []byte) {
	t.Helper()
	prefix := []byte("prefix")
	out, ok := AppendJSONBOrder(bytes.Clone(prefix), src)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("%q: dst's bytes were not kept: %q", src, out)
	}
	if !ok {
		if len(out) != len(prefix) {
			t.Fatalf("%q: refused, but dst grew to %q", src, out)
		}
		if json.Valid(src) && nesting(src) <= maxJSONBDepth {
			t.Fatalf("%q: refused a valid document", src)
		}
		return
	}
	out = out[len(prefix):]
	if json.Valid(src) != json.Valid(out) {
		t.Fatalf("%q → %q: validity changed", src, out)
	}
	if !json.Valid(src) {
		return
	}
	if want, got := decodeAny(t, src), decodeAny(t, out); !reflect.DeepEqual(want, got) {
		t.Fatalf("%q → %q: value changed", src, out)
	}
	if !bytes.Contains(src, []byte(`\`)) && utf8.Valid(src) { // else objects may keep their order
		checkKeyOrder(t, out)
	}
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return v
}

// checkKeyOrder walks b's tokens: within each object, every key sorts at or after the one before.
func checkKeyOrder(t *testing.T, b []byte) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	type level struct {
		object, wantKey bool
		last            string
		seen            bool
	}
	var stack []level
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if k, ok := tok.(string); ok {
				top := &stack[n-1]
				if top.seen && (len(k) < len(top.last) || len(k) == len(top.last) && k < top.last) {
					t.Fatalf("%s: key %q after %q", b, k, top.last)
				}
				top.last, top.seen, top.wantKey = k, true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, level{object: tok == json.Delim('{'), wantKey: true})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
}

// nesting is src's deepest nesting of arrays and objects (outside strings).
func nesting(src []byte) int {
	depth, most := 0, 0
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			i = SkipString(src, i) - 1
		case '{', '[':
			depth++
			most = max(most, depth)
		case '}', ']':
			depth--
		}
	}
	return most
}

func TestAppendJSONBOrder(t *testing.T) {
	for _, s := range jsonbCorpus {
		checkJSONBOrder(t, []byte(s))
	}
	for _, s := range jsonbInvalid {
		if out, ok := AppendJSONBOrder(nil, []byte(s)); ok && json.Valid(out) {
			t.Errorf("%q: accepted as %q", s, out)
		}
		checkJSONBOrder(t, []byte(s))
	}
	got, _ := AppendJSONBOrder(nil, []byte(` {"bb":1, "a":{"d":[ {"y":1,"x":2} ],"c":"v"}, "b":2, "b":1} `))
	if want := `{"a":{"c":"v","d":[{"x":2,"y":1}]},"b":2,"b":1,"bb":1}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A large object with long keys and repeated ones, and nesting at and past the limit.
	var big strings.Builder
	big.WriteString("{")
	for i := 200; i > 0; i-- {
		if i < 200 {
			big.WriteString(",")
		}
		big.WriteString(`"k` + strings.Repeat("x", i%70) + string(rune('a'+i%26)) + `":` + strings.Repeat("[", i%3) + `1` + strings.Repeat("]", i%3))
	}
	big.WriteString(`,"ka":"repeated"}`)
	checkJSONBOrder(t, []byte(big.String()))
	deep := strings.Repeat("[", maxJSONBDepth) + strings.Repeat("]", maxJSONBDepth)
	if _, ok := AppendJSONBOrder(nil, []byte(deep)); !ok {
		t.Error("refused nesting at the limit")
	}
	if _, ok := AppendJSONBOrder(nil, []byte("["+deep+"]")); ok {
		t.Error("accepted nesting past the limit")
	}
}

// TestAppendJSONBOrderFixtures: every console object and OCSF event of the fixtures.
func TestAppendJSONBOrderFixtures(t *testing.T) {
	var n int
	err := filepath.Walk("../../ocsf/testdata", func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checkJSONBOrder(t, b)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d fixtures found", n)
	}
}

func FuzzJSONBOrder(f *testing.F) {
	for _, s := range append(jsonbCorpus, jsonbInvalid...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkJSONBOrder(t, b) })
}
