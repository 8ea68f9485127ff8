package ocsf

import (
	"os"
	"testing"
)

func BenchmarkAgent(b *testing.B) {
	noEventCheck(b)
	for _, name := range []string{"s1_agent_full", "s1_agent_linux_cloud_quirks", "sekoia_active_device"} {
		raw, err := os.ReadFile("testdata/agents/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		benchTransform(b, name, raw, func(m Meta) error { _, err := Agent(raw, m); return err })
	}
}

// benchTransform benchmarks one transform of raw as walks decode it (valid-page: the page was
// validated, each record is not checked again) and as any other caller does.
func benchTransform(b *testing.B, name string, raw []byte, transform func(Meta) error) {
	trusted := testMeta
	trusted.ValidJSON = true
	for _, c := range []struct {
		sub string
		m   Meta
	}{{name, testMeta}, {name + "/valid-page", trusted}} {
		m := c.m
		b.Run(c.sub, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if err := transform(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
