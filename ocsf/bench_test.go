package ocsf

import (
	"os"
	"testing"
)

func BenchmarkAgent(b *testing.B) {
	for _, name := range []string{"s1_agent_full", "s1_agent_linux_cloud_quirks", "sekoia_active_device"} {
		raw, err := os.ReadFile("testdata/agents/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Agent(raw, testMeta); err != nil {
					b.Fatal(err)
				}
			}
		})
		// As walks decode: the page was validated, each record is not checked again.
		b.Run(name+"/valid-page", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			m := testMeta
			m.ValidJSON = true
			for b.Loop() {
				if _, err := Agent(raw, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
