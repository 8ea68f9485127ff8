package ocsf

import (
	"os"
	"testing"
)

func BenchmarkThreat(b *testing.B) {
	noEventCheck(b)
	for _, name := range []string{"s1_threat_realistic", "s1_threat_elastic_engines_mitre", "threat_quirks"} {
		raw, err := os.ReadFile("testdata/threats/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		benchTransform(b, name, raw, func(m Meta) error { _, err := Threat(raw, m); return err })
	}
}

func BenchmarkAlert(b *testing.B) {
	noEventCheck(b)
	for _, name := range []string{"s1_alert_realistic", "alert_process_rich"} {
		raw, err := os.ReadFile("testdata/alerts/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		benchTransform(b, name, raw, func(m Meta) error { _, err := Alert(raw, m); return err })
	}
}
