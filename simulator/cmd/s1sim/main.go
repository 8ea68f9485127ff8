// Command s1sim runs the SentinelOne console simulator standalone.
//
//	s1sim -addr 127.0.0.1:8443 -ca-out ca.pem -token-file token -agents 5000 -threats 20000 -alerts 10000
//
// The token is written to -token-file (mode 0600) so demos never put it in argv.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/sentinelone-connector/s1conn/simulator"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	useTLS := flag.Bool("tls", true, "serve HTTPS with a generated CA")
	caOut := flag.String("ca-out", "", "write the CA certificate (PEM) to this path")
	agents := flag.Int("agents", 2000, "number of agents")
	threats := flag.Int("threats", 0, "number of threats (GET /threats)")
	alerts := flag.Int("alerts", 0, "number of STAR alerts (GET /cloud-detection/alerts)")
	apps := flag.Int("apps", 0, "distinct applications in the catalogue (GET /application-management/inventory)")
	cves := flag.Int("cves", 0, "CVE catalogue size (GET /application-management/risks, /risks/cves)")
	xdr := flag.Bool("xdr", false, "serve GET /xdr/assets (one asset per agent)")
	seed := flag.Int64("seed", 1, "data seed")
	tokenFile := flag.String("token-file", "", "write the API token to this file (mode 0600)")
	rateLimits := flag.Bool("rate-limits", false, "enforce the published per-token rate limits (429)")
	flag.Parse()

	n := *agents
	if n == 0 {
		n = -1 // an explicit 0 means no agents
	}
	sim := simulator.New(simulator.Options{Seed: *seed, Agents: n, Threats: *threats, Alerts: *alerts,
		Apps: *apps, CVEs: *cves, XDRAssets: *xdr, EnforceRateLimits: *rateLimits, RetryAfter: *rateLimits})
	if *tokenFile != "" {
		if err := os.WriteFile(*tokenFile, []byte(simulator.DefaultToken+"\n"), 0o600); err != nil {
			log.Fatalf("s1sim: write token: %v", err)
		}
		if err := os.Chmod(*tokenFile, 0o600); err != nil { // tighten a pre-existing file
			log.Fatalf("s1sim: chmod token: %v", err)
		}
	}
	sv, err := sim.StartAddr(*addr, *useTLS)
	if err != nil {
		log.Fatalf("s1sim: %v", err)
	}
	if *caOut != "" && *useTLS {
		if err := sim.WriteCAPEM(*caOut); err != nil {
			log.Fatalf("s1sim: write CA: %v", err)
		}
	}
	fmt.Println(sv.URL)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	if err := sv.Close(); err != nil {
		log.Printf("s1sim: close: %v", err)
	}
}
