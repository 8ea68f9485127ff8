package ocsf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func seedDir(f *testing.F, stream string) {
	files, _ := filepath.Glob(filepath.Join("testdata", stream, "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
}

// FuzzThreat: Threat must never panic; whatever it accepts is a valid OCSF 2004 event
// and a self-consistent record.
func FuzzThreat(f *testing.F) {
	seedDir(f, StreamThreats)
	for _, s := range []string{`{"id":"1"}`, `null`, `{"id":1,"threatInfo":{"detectionEngines":["a",{"key":"k"},null]}}`,
		`{"id":"1","indicators":[{"tactics":[{"name":"","techniques":[{"name":"T1059.001","link":"/techniques/T1059/001"}]}]}]}`,
		`{"id":"1","threatInfo":{"updatedAt":-1e300,"incidentStatus":"resolved"}}`, `{"id":"1","agentRealtimeInfo":{"agentUuid":"u"}}`,
		`{"id":"1","agentRealtimeInfo":{"siteId":"s"},"containerInfo":{"a":null}}`, `{"id":" ","threatInfo":{"threatId":"2"}}`} {
		f.Add([]byte(s))
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameTrusted(t, raw, func(r []byte, m Meta) (*ThreatRecord, error) { return Threat(r, m) })
		r, err := Threat(raw, testMeta)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with error")
			}
			return
		}
		if r.Key == "" || r.Key != r.Flat.ThreatID || r.Hash != HashRaw(raw) {
			t.Fatalf("inconsistent record: %+v", r)
		}
		if !json.Valid(r.Event) {
			t.Fatalf("invalid JSON event: %s", r.Event)
		}
		if err := v.Validate(ClassDetectionFinding, r.Event); err != nil {
			t.Fatalf("event does not validate: %v\ninput: %s", err, raw)
		}
		if len(r.Flat.Values()) != len(ThreatColumns()) {
			t.Fatal("values/columns length mismatch")
		}
		if s := ThreatStatus(&r.Flat); s != r.Flat.Status {
			t.Fatalf("status %q != ThreatStatus %q", r.Flat.Status, s)
		}
	})
}

// FuzzAlert: Alert must never panic; whatever it accepts is a valid OCSF 2004 event.
func FuzzAlert(f *testing.F) {
	seedDir(f, StreamAlerts)
	for _, s := range []string{`{"alertInfo":{"alertId":"1"}}`, `null`, `{"alertInfo":{"alertId":1,"srcPort":"x"}}`,
		`{"alertInfo":{"alertId":"1","dstPort":80},"sourceProcessInfo":{"pid":0,"uniqueId":""}}`,
		`{"alertInfo":{"alertId":"1"},"agentDetectionInfo":{"uuid":"u","siteId":"s"}}`,
		`{"alertInfo":{"alertId":"1","loginAccountSid":"S-1","loginsUserName":"\\"}}`} {
		f.Add([]byte(s))
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Alert(raw, testMeta)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with error")
			}
			return
		}
		if r.Key == "" || r.Key != r.Flat.AlertID || r.Hash != HashRaw(raw) {
			t.Fatalf("inconsistent record: %+v", r)
		}
		if err := v.Validate(ClassDetectionFinding, r.Event); err != nil {
			t.Fatalf("event does not validate: %v\ninput: %s", err, raw)
		}
		if len(r.Flat.Values()) != len(AlertColumns()) {
			t.Fatal("values/columns length mismatch")
		}
	})
}

// FuzzAllNullishObject: whenever the allocation-free check says every member is nullish,
// decoding the object drops every member as well.
func FuzzAllNullishObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":null,"image":null}`, `{"a":"None","b":{},"c":[]}`, `{"a":"x"}`, `{"a":{"b":null}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || b[0] != '{' || !allNullishObject(b) {
			return
		}
		if got := compactDecoded(b); got != nil {
			t.Fatalf("allNullishObject(%q) but decoding keeps %s", b, got)
		}
	})
}
