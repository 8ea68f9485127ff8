package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzAgent: Agent must never panic; whatever it accepts must marshal to JSON that is a
// valid OCSF 5001 event, and its record must be self-consistent.
func FuzzAgent(f *testing.F) {
	files, _ := filepath.Glob("testdata/agents/*.json")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{"id":"1"}`, `{"id":1,"isActive":"True","tags":[]}`, `null`, `{"id":"1","networkInterfaces":[{}]}`,
		`{"id":"1","cloudProviders":{"AWS":null,"":{}}}`, `{"id":"1","updatedAt":-1e300}`} {
		f.Add([]byte(s))
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameTrusted(t, raw, func(r []byte, m Meta) (*AgentRecord, error) { return Agent(r, m) })
		r, err := Agent(raw, testMeta)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with error")
			}
			return
		}
		if r.Key == "" || r.Key != r.Flat.AgentID || r.Hash != HashRaw(raw) {
			t.Fatalf("inconsistent record: %+v", r)
		}
		if !json.Valid(r.Event) {
			t.Fatalf("invalid JSON event: %s", r.Event)
		}
		if err := v.Validate(ClassDeviceInventoryInfo, r.Event); err != nil {
			t.Fatalf("event does not validate: %v\ninput: %s", err, raw)
		}
		if len(r.Flat.Values()) != len(HostAssetColumns()) {
			t.Fatal("values/columns length mismatch")
		}
	})
}
