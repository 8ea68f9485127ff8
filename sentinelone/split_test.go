package sentinelone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// referencePage is decodePage as it was before the zero-copy split: encoding/json decodes the
// envelope and the items into copies. The split must agree with it on every input.
func referencePage(body []byte) (*Page, []errorEntry, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil, errors.New("empty response body")
	}
	if trimmed[0] != '{' {
		return nil, nil, errNotJSONObject
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, nil, err
	}
	// The rest is decodeEnvelope/decodePage's own code, fed the reference envelope.
	apiErrs := decodeErrors(env.Errors)
	var next string
	var total int64
	if pg := bytes.TrimSpace(env.Pagination); len(pg) > 0 && !bytes.Equal(pg, jsonNull) {
		var p pagination
		if err := json.Unmarshal(pg, &p); err != nil {
			return nil, apiErrs, fmt.Errorf("pagination: %w", err)
		}
		var err error
		if next, err = decodeCursor(p.NextCursor); err != nil {
			return nil, apiErrs, err
		}
		if p.TotalItems != nil {
			total = int64(*p.TotalItems)
		} else if p.TotalCount != nil {
			total = int64(*p.TotalCount)
		}
	}
	p := &Page{Data: []json.RawMessage{}, NextCursor: next, TotalItems: total}
	d := bytes.TrimSpace(env.Data)
	if len(d) == 0 || bytes.Equal(d, jsonNull) {
		return p, apiErrs, nil
	}
	if d[0] != '[' {
		return nil, apiErrs, errors.New(`"data" is not an array`)
	}
	if err := json.Unmarshal(d, &p.Data); err != nil {
		return nil, apiErrs, err
	}
	if p.Data == nil {
		p.Data = []json.RawMessage{}
	}
	return p, apiErrs, nil
}

// splitSeeds are the inputs where a hand-written scanner goes wrong: escapes, nesting,
// brackets inside strings, odd keys, repeated keys, whitespace, scalars as items.
var splitSeeds = []string{
	"{\"data\":[{\"id\":\"bad \xff utf-8\"},{\"id\":\"ok\"}]}",
	`{"data":[{"a":"x\"]}"},{"b":["}",{"c":"\\"}]}],"pagination":{"nextCursor":"n","totalItems":2}}`,
	` { "data" : [ 1 , -2.5e3 , "s" , true , false , null , [ ] , { } ] , "pagination" : null } `,
	`{"DATA":[{"id":"upper"}],"Pagination":{"nextCursor":null}}`,
	`{"data":[{"id":"first"}],"data":[{"id":"second"}]}`,
	`{"d\u0061ta":[{"id":"escaped key"}]}`,
	`{"ſ":1,"data":[{"k":"\u00e9\ud83d\ude00"}]}`,
	`{"other":{"data":[1]},"data":[{"nested":{"deep":[[[{"x":"]"}]]]}}]}`,
	"{\"data\":[{\"bad\":\"\xff\xfe\"}]}",
	`{"data":[]}`,
	`{"data":[{"a":1}],}`,
	`{"data":[{"a":1}]} trailing`,
	`{"errors":[{"code":400,"title":"t"}],"data":[{"id":"1"}]}`,
	`{}`,
}

func TestSplitMatchesEncodingJSON(t *testing.T) {
	for _, s := range append(append([]string{}, pageSeeds...), splitSeeds...) {
		comparePages(t, []byte(s))
	}
}

func FuzzSplitPage(f *testing.F) {
	for _, s := range append(append([]string{}, pageSeeds...), splitSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { comparePages(t, body) })
}

// FuzzValidJSON: the fast validity check never accepts what encoding/json rejects (the
// zero-copy split trusts it), and it agrees with encoding/json on the seeds.
func FuzzValidJSON(f *testing.F) {
	seeds := append(append([]string{}, pageSeeds...), splitSeeds...)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	seeds = append(seeds, deep(maxNesting), deep(maxNesting+1), `{"data":`+deep(maxNesting+1)+`}`, `"[[[["`+deep(3),
		`"\\"[`, `["\"[[[["]`)
	seeds = append(seeds, `"\ud800"`, "\"\xff\"", `{"a":1,}`, `[1 2]`, `01`, `1e`, `-`, `"\u00g0"`, "\"\t\"", `{"a" 1}`, ` {} `, `nul`)
	for _, s := range seeds {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			f.Fatalf("%q: validJSON %v, encoding/json %v", s, got, want)
		}
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if validJSON(b) && !json.Valid(b) {
			t.Fatalf("%q: validJSON accepts what encoding/json rejects", b)
		}
	})
}

// A body nested far deeper than encoding/json allows is refused, not parsed recursively
// (segmentio's parser would overflow the stack and kill the process).
func TestDeepNestingRefusedWithoutRecursion(t *testing.T) {
	body := []byte(`{"data":` + strings.Repeat("[", 5<<20) + `}`)
	if validJSON(body) {
		t.Fatal("a body nested 5M deep passed as valid JSON")
	}
	if _, _, err := decodePage(body); err == nil {
		t.Fatal("decodePage accepted a body nested 5M deep")
	}
	if !validJSON([]byte(`{"data":[` + strings.Repeat(`"[{",`, 20000) + `1]}`)) {
		t.Fatal("brackets inside strings were counted as nesting")
	}
}

func comparePages(t *testing.T, body []byte) {
	t.Helper()
	got, gotErrs, err := decodePage(body)
	want, wantErrs, werr := referencePage(body)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: split error %v, reference error %v", body, err, werr)
	}
	if !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Fatalf("%q: errors %+v, reference %+v", body, gotErrs, wantErrs)
	}
	if err != nil {
		return
	}
	if got.NextCursor != want.NextCursor || got.TotalItems != want.TotalItems || len(got.Data) != len(want.Data) {
		t.Fatalf("%q: page %q/%d/%d items, reference %q/%d/%d", body, got.NextCursor, got.TotalItems, len(got.Data),
			want.NextCursor, want.TotalItems, len(want.Data))
	}
	for i := range got.Data {
		if !bytes.Equal(got.Data[i], want.Data[i]) {
			t.Fatalf("%q: item %d %q, reference %q", body, i, got.Data[i], want.Data[i])
		}
		if cap(got.Data[i]) != len(got.Data[i]) {
			t.Fatalf("item %d can grow into the next one", i)
		}
	}
	for i, item := range got.Data {
		if !within(body, item) {
			t.Fatalf("%q: item %d is a copy, not a slice of the body", body, i)
		}
		// What ocsf.Meta.ValidJSON relies on: a Valid page's items need no check of their own.
		if got.Valid && (!json.Valid(item) || !utf8.Valid(item)) {
			t.Fatalf("%q: the page says Valid but item %d is not valid JSON and UTF-8", body, i)
		}
	}
	if allValid := utf8.Valid(body); allValid && len(got.Data) > 0 && !got.Valid {
		t.Fatalf("%q: a valid UTF-8 page is not marked Valid", body)
	}
}

// within reports whether b's bytes lie inside buf's backing array.
func within(buf, b []byte) bool {
	start, end := uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))+uintptr(len(buf))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p+uintptr(len(b)) <= end
}

// BenchmarkDecodePage decodes a page of 1,000 realistic threats (~4.5 MB): the zero-copy
// split against the encoding/json reference it replaced.
func BenchmarkDecodePage(b *testing.B) {
	item, err := os.ReadFile(filepath.Join("..", "ocsf", "testdata", "threats", "s1_threat_realistic.json"))
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"data":[`)
	for i := range 1000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(bytes.TrimSpace(item))
	}
	buf.WriteString(`],"pagination":{"nextCursor":"abc","totalItems":200000}}`)
	body := buf.Bytes()
	for _, c := range []struct {
		name string
		fn   func([]byte) (*Page, []errorEntry, error)
	}{{"split", decodePage}, {"encoding-json", referencePage}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if p, _, err := c.fn(body); err != nil || len(p.Data) != 1000 {
					b.Fatal(err)
				}
			}
		})
	}
}
