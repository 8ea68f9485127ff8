package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// plannedTargets are the types the transforms decode console objects into, one fresh value
// each call.
var plannedTargets = map[string]func() any{
	"agent":    func() any { return new(s1Agent) },
	"alert":    func() any { return new(s1Alert) },
	"threat":   func() any { return new(s1Threat) },
	"risk":     func() any { return new(s1Risk) },
	"app":      func() any { return new(s1InventoryApp) },
	"endpoint": func() any { return new(s1AppEndpoint) },
}

// TestTransformsArePlanned: every fixture of the transforms decodes with its type's plan
// (internal/fastjson/plan.go) to exactly what encoding/json gives. A type that lost its plan
// (a field of a kind plans do not handle) would still decode right, only slower: this test
// is what notices.
func TestTransformsArePlanned(t *testing.T) {
	for dir, target := range map[string]string{"agents": "agent", "alerts": "alert", "threats": "threat", "vulnerabilities": "risk"} {
		for name, b := range fixtures(t, dir) {
			want, got := plannedTargets[target](), plannedTargets[target]()
			if err := json.Unmarshal(b, want); err != nil {
				t.Fatalf("%s/%s: %v", dir, name, err)
			}
			if !fastjson.DecodePlanned(b, got) {
				t.Fatalf("%s/%s: the %s plan handed the fixture back", dir, name, target)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s/%s: the plan decoded\n%+v\nencoding/json\n%+v", dir, name, got, want)
			}
		}
	}
}

// FuzzPlannedDecode: whatever a transform type's plan accepts, it decodes exactly as
// encoding/json does (and encoding/json accepts it).
func FuzzPlannedDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{"alertInfo":{"alertId":1},"alertInfo":{"createdAt":"2024-01-01T00:00:00Z"}}`,
		`{"threatInfo":{"engines":[{"key":"a"},"b",null]},"indicators":[]}`, `{"networkInterfaces":null}`,
		`{"AlertInfo":{"alertId":"x"}}`, `{"id":"1","id":2}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		for name, target := range plannedTargets {
			want, got := target(), target()
			werr := json.Unmarshal(raw, want)
			if !fastjson.DecodePlanned(raw, got) {
				continue
			}
			if werr != nil {
				t.Fatalf("%s: the plan accepted what encoding/json rejects (%v): %s", name, werr, raw)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: %s\nplan %+v\nencoding/json %+v", name, raw, got, want)
			}
		}
	})
}
