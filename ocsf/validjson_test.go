package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// sameTrusted checks that a transform gives the same record (or the same error) whether it is
// told the input was already validated (Meta.ValidJSON, as walks do) or not. Only inputs that
// are valid JSON and UTF-8 qualify: that is what a Valid page guarantees for its items.
func sameTrusted[R any](t *testing.T, raw []byte, transform func([]byte, Meta) (R, error)) {
	t.Helper()
	if !json.Valid(raw) || !utf8.Valid(raw) {
		return
	}
	trusted := testMeta
	trusted.ValidJSON = true
	want, werr := transform(raw, testMeta)
	got, err := transform(raw, trusted)
	if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
		t.Fatalf("%s: error %v with ValidJSON, %v without", raw, err, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: record differs with ValidJSON:\n%+v\n%+v", raw, got, want)
	}
}

func TestValidJSONDecodesTheSame(t *testing.T) {
	for dir, check := range map[string]func(*testing.T, []byte){
		"agents": func(t *testing.T, b []byte) {
			sameTrusted(t, b, func(r []byte, m Meta) (*AgentRecord, error) { return Agent(r, m) })
		},
		"threats": func(t *testing.T, b []byte) {
			sameTrusted(t, b, func(r []byte, m Meta) (*ThreatRecord, error) { return Threat(r, m) })
		},
		"alerts": func(t *testing.T, b []byte) {
			sameTrusted(t, b, func(r []byte, m Meta) (*AlertRecord, error) { return Alert(r, m) })
		},
	} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s testdata: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			check(t, b)
		}
		// Wrong types are errors either way, with the same message.
		check(t, []byte(`{"id":["not","a","string"],"updatedAt":{},"alertInfo":7}`))
	}
}
