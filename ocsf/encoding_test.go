package ocsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// TestMain checks every finding (threat, alert, vulnerability) the tests and fuzzers encode:
// it must be byte for byte encoding/json's encoding with its members in jsonb's key order.
// Benchmarks turn the check off for their own time (noEventCheck).
func TestMain(m *testing.M) {
	checkEventEncoding = compareWithEncodingJSON
	os.Exit(m.Run())
}

// noEventCheck turns the encoding check off while b runs (it would time encoding/json too).
func noEventCheck(b *testing.B) {
	prev := checkEventEncoding
	checkEventEncoding = nil
	b.Cleanup(func() { checkEventEncoding = prev })
}

func compareWithEncodingJSON(ev any, got []byte, err error, fellBack bool) {
	if fellBack {
		panic(fmt.Sprintf("a %T (or a value in it) was left to encoding/json", ev))
	}
	want, werr := json.Marshal(ev)
	if werr != nil || err != nil {
		panic(fmt.Sprintf("encoding a %T: MarshalJSONB error %v, encoding/json error %v", ev, err, werr))
	}
	want, ok := fastjson.AppendJSONBOrder(nil, want)
	if !ok || !bytes.Equal(got, want) {
		panic(fmt.Sprintf("a %T encoded as\n%s\nencoding/json, in jsonb's key order:\n%s", ev, got, want))
	}
}

// TestEventEncodingChecked: the check above runs (an alert's, a threat's and a vulnerability's
// transforms go through it), and it catches an encoding that differs or was left to encoding/json.
func TestEventEncodingChecked(t *testing.T) {
	if checkEventEncoding == nil {
		t.Fatal("the event encoding check is not installed")
	}
	var seen int
	prev := checkEventEncoding
	checkEventEncoding = func(ev any, b []byte, err error, fellBack bool) { seen++; prev(ev, b, err, fellBack) }
	defer func() { checkEventEncoding = prev }()
	for name, raw := range fixtures(t, "alerts") {
		if _, err := Alert(raw, testMeta); err != nil {
			t.Fatal(name, err)
		}
		break
	}
	for name, raw := range fixtures(t, "threats") {
		if _, err := Threat(raw, testMeta); err != nil {
			t.Fatal(name, err)
		}
		break
	}
	raw, err := os.ReadFile("testdata/vulnerabilities/s1_risk_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	host, cd := riskInputs(t, "s1_risk_reference", raw)
	if _, err := Vulnerability(raw, testMeta, host, cd, DefaultSeverityMap(), ""); err != nil {
		t.Fatal(err)
	}
	if seen != 3 {
		t.Fatalf("%d events checked, want 3", seen)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("an encoding left to encoding/json was not caught")
			}
		}()
		compareWithEncodingJSON(struct{}{}, []byte(`{}`), nil, true)
	}()
	defer func() {
		if recover() == nil {
			t.Error("a differing encoding was not caught")
		}
	}()
	compareWithEncodingJSON(struct {
		B int `json:"b"`
		A int `json:"a"`
	}{}, []byte(`{"b":0,"a":0}`), nil, false)
}
