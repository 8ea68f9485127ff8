// Command bench is the connector's reproducible benchmark (`make bench`): it builds the
// worker and starter, starts a Temporal dev server, a fresh PostgreSQL database and the
// HTTPS console simulator, and for each stream measures a full sync, a delta after 1% of the
// records changed, the worker's peak RSS, the workflow histories, and the ceilings measured
// on the same data (fetch-only, PostgreSQL COPY, and the API ceiling under S1's published
// per-path limits). It prints a markdown table and writes it to bench/results.md.
//
//	go run ./bench -quick                 # smoke run (seconds to a few minutes)
//	go run ./bench                        # the sizes (100k agents, 200k threats, 100k alerts, 1M vulnerability rows), 3 full syncs a stream
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/simulator"
)

type config struct {
	agents, threats, alerts int
	apps, cves              int
	scaleAgents             int
	streams                 []string
	apiCeiling              bool
	profile                 bool
	out                     string
	keepDB                  bool
	quick                   bool
	repeat                  int
}

func main() {
	var cfg config
	flag.IntVar(&cfg.agents, "agents", 100_000, "agents in the simulated tenant")
	flag.IntVar(&cfg.threats, "threats", 200_000, "threats (createdAt spread over the last 29 days)")
	flag.IntVar(&cfg.alerts, "alerts", 100_000, "STAR alerts (createdAt spread over the last 29 days)")
	flag.IntVar(&cfg.apps, "apps", 65, "applications in the catalogue (65 with 3000 CVEs and 100k agents ≈ 1M vulnerability rows)")
	flag.IntVar(&cfg.cves, "cves", 3000, "CVE catalogue size")
	flag.IntVar(&cfg.scaleAgents, "scale-agents", 0, "agents of an extra agents-only scale run (own simulator, RSS and history at that size; 0 = skip)")
	streams := flag.String("streams", "agents,threats,alerts,vulnerabilities", "streams to benchmark")
	flag.BoolVar(&cfg.apiCeiling, "api-ceiling", true, "also sync each stream with the simulator enforcing S1's published per-path limits")
	flag.BoolVar(&cfg.profile, "profile", false, "CPU-profile one in-process agents full sync (SyncStream activity) into bench/profile-agents.pprof")
	flag.StringVar(&cfg.out, "out", "", "results file (default bench/results.md in the repository)")
	flag.BoolVar(&cfg.keepDB, "keep-db", false, "keep the benchmark database")
	flag.IntVar(&cfg.repeat, "repeat", 3, "full syncs per stream, each followed by its own COPY ceiling on the same rows (the table emptied before each further one); the full-sync target uses the median of their ratios; also the number of fetch-only walks under S1's limits, judged on the median")
	flag.BoolVar(&cfg.quick, "quick", false, "small smoke run: 5k agents, 5k threats, 2k alerts, ~50k vulnerability rows")
	flag.Parse()
	if cfg.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, p *int, v int) {
			if !set[name] {
				*p = v
			}
		}
		def("agents", &cfg.agents, 5000)
		def("threats", &cfg.threats, 5000)
		def("alerts", &cfg.alerts, 2000)
		def("apps", &cfg.apps, 65)
		def("cves", &cfg.cves, 3000)
		def("repeat", &cfg.repeat, 1)
	}
	if cfg.repeat < 1 {
		fmt.Fprintln(os.Stderr, "bench: -repeat must be at least 1")
		os.Exit(2)
	}
	cfg.streams = strings.Split(*streams, ",")
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(cfg config) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if cfg.out == "" {
		cfg.out = filepath.Join(root, "bench", "results.md")
	}
	dir, err := os.MkdirTemp("", "s1bench")
	if err != nil {
		return err
	}
	e := &env{root: root, dir: dir, binDir: filepath.Join(dir, "bin"), taskQueue: "bench-" + randomHex(4)}
	e.adminURL = os.Getenv("TEST_POSTGRES_URL")
	if e.adminURL == "" {
		e.adminURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	if e.logFile, err = os.Create(filepath.Join(root, "bench", "bench.log")); err != nil {
		return err
	}
	defer e.close(cfg.keepDB)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		logf("interrupted: stopping the worker and dev server, dropping the database")
		e.close(cfg.keepDB)
		os.Exit(130)
	}()
	if e.key, err = codec.GenerateKey(); err != nil {
		return err
	}
	logf("building worker and starter")
	if err := e.buildBinaries(); err != nil {
		return err
	}
	logf("starting the Temporal dev server")
	if err := e.startDevServer(); err != nil {
		return err
	}
	if err := e.createDatabase(); err != nil {
		return err
	}
	logf("database %s; building the simulator (%d agents, %d threats, %d alerts, apps %d, CVEs %d)",
		e.dbName, cfg.agents, cfg.threats, cfg.alerts, cfg.apps, cfg.cves)
	sim := simulator.New(simulator.Options{Seed: 42, Agents: cfg.agents, Threats: cfg.threats, Alerts: cfg.alerts,
		ThreatSpan: 29 * 24 * time.Hour, Apps: cfg.apps, CVEs: cfg.cves, MaxRequestLog: 2_000_000})
	srv, err := sim.Start(true)
	if err != nil {
		return err
	}
	defer srv.Close()
	b := &bench{cfg: cfg, e: e, sim: sim, srv: srv}
	if err := b.setup(); err != nil {
		return err
	}
	defer b.tc.Close()
	ctx := context.Background()
	for _, s := range cfg.streams {
		def, ok := streamDefs[strings.TrimSpace(s)]
		if !ok {
			return fmt.Errorf("-streams: unknown stream %q", s)
		}
		r, err := b.runStream(ctx, def)
		if err != nil {
			return fmt.Errorf("%s: %w", def.name, err)
		}
		b.results = append(b.results, r)
	}
	if cfg.apiCeiling {
		for _, r := range b.results {
			if r.NotImplemented != "" || r.Def.limit == 0 {
				continue // no published per-path limit: the simulator enforces none
			}
			if err := b.apiCeiling(ctx, r); err != nil {
				return fmt.Errorf("%s API ceiling: %w", r.Stream, err)
			}
		}
	}
	if cfg.scaleAgents > 0 {
		if err := b.scaleRun(ctx); err != nil {
			return fmt.Errorf("scale run: %w", err)
		}
	}
	if cfg.profile {
		if err := b.profileAgents(ctx); err != nil {
			logf("profile: %v", err)
		}
	}
	report := b.report()
	fmt.Println(report)
	if err := os.WriteFile(cfg.out, []byte(report), 0o644); err != nil {
		return err
	}
	logf("wrote %s", cfg.out)
	return nil
}
