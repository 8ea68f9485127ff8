package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func machine(b *bench) string {
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				if _, v, ok := strings.Cut(l, ":"); ok {
					cpu = strings.TrimSpace(v)
					break
				}
			}
		}
	}
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	kernel, _ := exec.Command("uname", "-sr").Output()
	gov, _ := exec.Command("go", "version").Output()
	var pg string
	_ = b.e.db.QueryRowContext(context.Background(), `SELECT version()`).Scan(&pg)
	if i := strings.Index(pg, " on "); i > 0 {
		pg = pg[:i]
	}
	var av string
	_ = b.e.db.QueryRowContext(context.Background(), `SHOW autovacuum`).Scan(&av)
	pg += ", autovacuum " + av
	commit, _ := exec.Command("git", "-C", b.e.root, "describe", "--always", "--dirty").Output()
	return fmt.Sprintf("- CPU: %s, %d cores visible (GOMAXPROCS %d)\n- Memory: %s\n- OS: %s- Go: %s- PostgreSQL: %s (same host)\n- Temporal: dev server (CLI), SQLite file\n- Connector: %s- Date: %s\n",
		cpu, runtime.NumCPU(), runtime.GOMAXPROCS(0), mem, string(kernel), string(gov), pg, string(commit), time.Now().UTC().Format(time.RFC3339))
}

func ceilDiv(n, d int) int { return (n + d - 1) / d }

func pct(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return 100 * a / b
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// minCeiling is min(fetch-only, COPY) in records/s.
func (r *streamResult) minCeiling() float64 {
	f, c := rate(r.FetchRecords, r.FetchDur), rate(r.CopyRows, r.CopyDur)
	if c == 0 {
		return f
	}
	return math.Min(f, c)
}

// util is apiUtil for one fetch-only walk under S1's limits (the client alone).
func (w pubWalk) util(d streamDef) float64 {
	if d.limit == 0 || w.Dur <= 0 {
		return math.NaN()
	}
	return float64(max(0, w.Reqs-w.N429-d.burst)) / w.Dur.Seconds() / d.limit
}

// reachable is the share of the API ceiling this host can reach at all on walk w: its requests
// take at least as long as without client limits (the simulator, the network and the decoding
// bound it) and at least (requests − burst) ÷ limit. On a host whose unlimited walk is slower
// than the limit, the API ceiling is out of reach whatever the client does.
func (r *streamResult) reachable(w pubWalk) float64 {
	if r.Def.limit == 0 || w.Dur <= 0 || r.FetchDur <= 0 || r.FetchRequests == 0 {
		return math.NaN()
	}
	ok := w.Reqs - w.N429
	unlimited := float64(ok) / (float64(r.FetchRequests) / r.FetchDur.Seconds())
	limited := float64(max(0, ok-r.Def.burst)) / r.Def.limit
	best := math.Max(unlimited, limited) // seconds: the fastest this walk could be under the limit
	return float64(max(0, ok-r.Def.burst)) / best / r.Def.limit
}

// pubSummary sums up the walks under S1's limits (streamResult.fetchPub).
type pubSummary struct {
	util    float64 // median share of the API ceiling the client used (NaN: no walk says)
	ofReach float64 // median of each walk's share of what this host could reach
	each    string  // each walk as "94% (0 × 429)", in run order
	storm   bool    // a walk drew more than max(1, its requests ÷ 100) 429s
	reqs    int     // requests of all walks, 429s included
	n429    int
}

// fetchPub sums up the walks under S1's limits. Walks whose successful requests all fit in
// the bucket's burst say nothing about the rate and are left out of both medians.
func (r *streamResult) fetchPub() pubSummary {
	var us, rs []float64
	var parts []string
	var p pubSummary
	for _, w := range r.FetchPub {
		p.reqs += w.Reqs
		p.n429 += w.N429
		p.storm = p.storm || w.N429 > max(1, w.Reqs/100)
		if w.Reqs-w.N429 <= r.Def.burst {
			parts = append(parts, fmt.Sprintf("within the burst (%d × 429)", w.N429))
			continue
		}
		u := w.util(r.Def)
		us = append(us, u)
		rs = append(rs, u/math.Min(1, r.reachable(w)))
		parts = append(parts, fmt.Sprintf("%.0f%% (%d × 429)", 100*u, w.N429))
	}
	p.each = strings.Join(parts, ", ")
	p.util, p.ofReach = math.NaN(), math.NaN()
	if len(us) > 0 {
		p.util, p.ofReach = median(us), median(rs)
	}
	return p
}

// apiUtil is the steady-state share of the API ceiling used: requests beyond the bucket's
// burst per second of the run, over the published limit.
func (r *streamResult) apiUtil() float64 {
	if r.API == nil || r.APILimit == 0 {
		return math.NaN()
	}
	ok := r.API.Requests - r.API.Status429
	eff := float64(max(0, ok-r.APIBurst)) / r.API.Duration.Seconds()
	return eff / r.APILimit
}

func (b *bench) report() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# s1conn benchmark\n\n")
	fmt.Fprintf(&s, "`go run ./bench %s` — sizes: %d agents, %d threats, %d alerts, vulnerabilities from %d apps × %d CVEs; scale run %d agents.\n\n",
		strings.Join(os.Args[1:], " "), b.cfg.agents, b.cfg.threats, b.cfg.alerts, b.cfg.apps, b.cfg.cves, b.cfg.scaleAgents)
	s.WriteString("## Machine\n\n" + machine(b) + "\n")
	s.WriteString("## Results\n\n")
	s.WriteString("| stream | N | full s | rec/s | fetch-only rec/s | COPY rec/s | durable COPY rec/s | ratio vs min ceiling | requests / ⌈N/1000⌉ | delta s (% of full) | delta requests (% of full) | peak RSS MB (full / delta) | max events/run | largest payload B | API-ceiling util | 429s |\n")
	s.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range b.results {
		if r.NotImplemented != "" {
			fmt.Fprintf(&s, "| %s | %d | not implemented in this build | | %.0f | | | | | | | | | | | |\n", r.Stream, r.N, rate(r.FetchRecords, r.FetchDur))
			continue
		}
		fr := rate(r.Full.Fetched, r.Full.Duration)
		minimal := ceilDiv(r.N, 1000)
		api, n429 := "n/a (S1 publishes no limit for this path)", "—"
		if r.API != nil {
			n429 = fmt.Sprint(r.API.Status429)
			if r.APILimit > 0 {
				api = fmt.Sprintf("%.0f%% of %g req/s (%.0f rec/s)", 100*r.apiUtil(), r.APILimit, r.APILimit*1000)
			} else {
				api = fmt.Sprintf("n/a (no published limit; %.0f rec/s)", rate(r.API.Fetched, r.API.Duration))
			}
		}
		ratio := fmt.Sprintf("%.2f", fr/r.minCeiling())
		if med, rs := r.medianRatio(); len(rs) > 1 {
			ratio = fmt.Sprintf("%.2f (median of %s)", med, fmtRatios(rs))
		}
		fmt.Fprintf(&s, "| %s | %d | %.2f | %.0f | %.0f | %.0f | %.0f | %s | %d / %d = %.3f | %.2f (%.1f%%) | %d (%.1f%%) | %.0f / %.0f | %d | %d | %s | %s |\n",
			r.Stream, r.N, r.Full.Duration.Seconds(), fr, rate(r.FetchRecords, r.FetchDur), rate(r.CopyRows, r.CopyDur),
			rate(r.CopyRows, r.DurableCopyDur), ratio, r.Full.Requests, minimal, float64(r.Full.Requests)/float64(minimal),
			r.Delta.Duration.Seconds(), pct(r.Delta.Duration.Seconds(), r.Full.Duration.Seconds()),
			r.Delta.Requests, pct(float64(r.Delta.Requests), float64(r.Full.Requests)),
			mb(r.Full.PeakRSS), mb(r.Delta.PeakRSS), r.History.MaxEvents, r.History.LargestPayload, api, n429)
	}
	if sc := b.scale; sc != nil {
		fmt.Fprintf(&s, "| agents (scale) | %d | %.2f | %.0f | | | | | %d / %d = %.3f | | | %.0f | %d | %d | | |\n",
			sc.N, sc.Run.Duration.Seconds(), rate(sc.Run.Fetched, sc.Run.Duration), sc.Run.Requests, ceilDiv(sc.N, 1000),
			float64(sc.Run.Requests)/float64(ceilDiv(sc.N, 1000)), mb(sc.Run.PeakRSS), sc.History.MaxEvents, sc.History.LargestPayload)
	}
	s.WriteString("\nColumns: *full s* is the sync run's own duration (workflow start → summary); *rec/s* = records fetched ÷ that. " +
		"With `-repeat N` each stream has N full syncs, each followed by the COPY ceiling of the rows it stored (the table emptied, a new connection and a fresh worker before each further one); *ratio* is then the median of the N ratios, listed in run order, and the other columns are the first run's. " +
		"Every timed sync and the COPY ceiling start after a CHECKPOINT, so none pays for the writes of the phase before it. " +
		"*fetch-only* = the connector's `sentinelone` client walking the same endpoint and filters (threats/alerts: one walk over the whole 30-day lookback) with no client-side limit, decoding and discarding pages, then with the worker's client limits while the simulator enforces S1's published ones (in Details, not the table; `-repeat` walks, fresh buckets each, where S1 publishes a limit) — the *client under S1's limit* target takes the median of the walks' ratios and counts their 429s; " +
		"*COPY* = the same stored rows (every column, read back as text) loaded with `pq.CopyIn` into an UNLOGGED table with the same columns (and compression) and no indexes, COPY and commit timed only; " +
		"*durable COPY* = the same chunks COPYed into a logged table with the same columns, primary key and indexes (what PostgreSQL itself charges for WAL and index upkeep on these rows; informational, the targets use *COPY*). " +
		"*requests* = GETs on the stream's path logged by the simulator (alerts include the status refresh by ID). " +
		"*peak RSS* = worker VmHWM (fresh worker per stream, reset between full and delta). " +
		"*events/run* and *payload* come from every run of the connection workflow and of both sync workflows, read with a raw client (payload size as stored, i.e. encrypted). " +
		"*API-ceiling util* = a second full sync on a new connection with the simulator enforcing S1's published per-path limit (429 + Retry-After): (200-responses − bucket burst) ÷ run time ÷ limit.\n\n")

	s.WriteString("### Details\n\n")
	for _, r := range b.results {
		if r.NotImplemented != "" {
			fmt.Fprintf(&s, "- **%s**: `starter connection create --streams %s` refused: %q. %d rows in the simulator; fetch-only ceiling %.0f rec/s (%d requests).\n",
				r.Stream, r.Stream, firstLine(r.NotImplemented), r.N, rate(r.FetchRecords, r.FetchDur), r.FetchRequests)
			continue
		}
		fmt.Fprintf(&s, "- **%s**: full sync (mode %s), %d fetched / %d inserted, %d windows, wall (starter) %.2fs; fetch-only %d records in %d requests %.2fs, with the worker's published client limits and the simulator enforcing them %s; COPY %d rows %.2fs (durable, indexed: %.2fs). "+
			"Delta after changing %d: %s mode, %d fetched, %d updated, %d refreshed by ID, %.2fs, %d requests (%d of them by ID; the full sync: %d). History: %d runs, %d events in all, largest payload %d B encrypted / %d B plain (%s), %d record strings searched, found: %d.",
			r.Stream, r.Full.Mode, r.Full.Fetched, r.Full.Inserted, r.Full.Windows, r.Full.Wall.Seconds(),
			r.FetchRecords, r.FetchRequests, r.FetchDur.Seconds(), r.fetchPubWalks(),
			r.CopyRows, r.CopyDur.Seconds(), r.DurableCopyDur.Seconds(),
			r.Changed, r.Delta.Mode, r.Delta.Fetched, r.Delta.Updated, r.Delta.Refreshed, r.Delta.Duration.Seconds(), r.Delta.Requests, r.Delta.ByID, r.Full.ByID,
			r.History.Runs, r.History.TotalEvents, r.History.LargestPayload, r.History.LargestPlain, r.History.LargestWhere, r.Markers, len(r.History.RecordDataFound))
		fmt.Fprintf(&s, " CPU during the full sync: worker %.1fs (%.0f µs a record), PostgreSQL %.1fs (%.0f µs a row; its COPY ceiling %.0f µs, the durable COPY %.0f µs), simulator %.1fs; during the delta: worker %.2fs, PostgreSQL %.2fs.",
			r.Full.CPU.Worker.Seconds(), perRecordMicros(r.Full.CPU.Worker, r.Full.Fetched), r.Full.CPU.Postgres.Seconds(),
			perRecordMicros(r.Full.CPU.Postgres, r.Full.Inserted+r.Full.Updated), perRecordMicros(r.CopyCPU[0], r.CopyRows), perRecordMicros(r.CopyCPU[1], r.CopyRows),
			r.Full.CPU.Simulator.Seconds(), r.Delta.CPU.Worker.Seconds(), r.Delta.CPU.Postgres.Seconds())
		if len(r.Rounds) > 1 {
			f := rate(r.FetchRecords, r.FetchDur)
			s.WriteString(" Full syncs and their COPY ceilings:")
			for i, rd := range r.Rounds {
				sep := ";"
				if i == len(r.Rounds)-1 {
					sep = "."
				}
				fmt.Fprintf(&s, " %d) %.0f rec/s vs COPY %.0f rows/s = %.2f%s", i+1, rate(rd.Fetched, rd.Sync), rate(rd.CopyRows, rd.Copy), rd.ratio(f), sep)
			}
		}
		if r.API != nil {
			fmt.Fprintf(&s, " API run: %d records in %.2fs (%.0f rec/s), %d requests, %d × 429.", r.API.Fetched, r.API.Duration.Seconds(),
				rate(r.API.Fetched, r.API.Duration), r.API.Requests, r.API.Status429)
		}
		s.WriteString("\n")
	}
	if sc := b.scale; sc != nil {
		fmt.Fprintf(&s, "- **scale**: %d agents (own simulator, fresh worker) in %.2fs, %d requests, peak RSS %.1f MB, history %d runs, max %d events/run, largest payload %d B.\n",
			sc.N, sc.Run.Duration.Seconds(), sc.Run.Requests, mb(sc.Run.PeakRSS), sc.History.Runs, sc.History.MaxEvents, sc.History.LargestPayload)
	}
	s.WriteString("\n## Targets\n\n")
	s.WriteString(b.targets())
	if b.profile != "" {
		s.WriteString("\n## CPU profile\n\n" + b.profile)
	}
	return s.String()
}

// fetchPubWalks lists the walks under S1's limits for the details: "in 2 walks: 5.22s (19158
// rec/s, 101 requests, 1 × 429) / 4.19s (…)".
func (r *streamResult) fetchPubWalks() string {
	if len(r.FetchPub) == 0 {
		return "not measured"
	}
	parts := make([]string, len(r.FetchPub))
	for i, w := range r.FetchPub {
		parts[i] = fmt.Sprintf("%.2fs (%.0f rec/s, %d requests, %d × 429)", w.Dur.Seconds(), rate(r.FetchRecords, w.Dur), w.Reqs, w.N429)
		if w.Err != nil {
			parts[i] = fmt.Sprintf("failed after %.2fs (%d requests, %d × 429): %v", w.Dur.Seconds(), w.Reqs, w.N429, w.Err)
		}
	}
	return fmt.Sprintf("in %s: %s", plural(len(parts), "walk"), strings.Join(parts, " / "))
}

// plural is "1 walk", "3 walks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// fmtRatios lists ratios as "0.81, 0.79, 0.86".
func fmtRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, x := range rs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func (b *bench) targets() string {
	var s strings.Builder
	line := func(ok bool, format string, args ...any) {
		fmt.Fprintf(&s, "- %s %s\n", passMiss(ok), fmt.Sprintf(format, args...))
	}
	var agents *streamResult
	for _, r := range b.results {
		if r.NotImplemented != "" {
			fmt.Fprintf(&s, "- MISS %s: not implemented in this build — no sync, delta, RSS or history numbers (fetch-only ceiling only).\n", r.Stream)
			continue
		}
		if r.Stream == "agents" {
			agents = r
		}
		fr := rate(r.Full.Fetched, r.Full.Duration)
		if med, rs := r.medianRatio(); len(rs) > 1 {
			line(med >= 0.8, "%s full-sync rate ≥ 0.8 × min(fetch-only, COPY): median ratio %.2f of %d full syncs, each against the COPY of the rows it stored (%s; the first: %.0f rec/s, fetch-only %.0f, COPY %.0f)",
				r.Stream, med, len(rs), fmtRatios(rs), fr, rate(r.FetchRecords, r.FetchDur), rate(r.CopyRows, r.CopyDur))
		} else {
			line(fr >= 0.8*r.minCeiling(), "%s full-sync rate %.0f rec/s ≥ 0.8 × min(fetch-only %.0f, COPY %.0f) = %.0f (ratio %.2f)",
				r.Stream, fr, rate(r.FetchRecords, r.FetchDur), rate(r.CopyRows, r.CopyDur), 0.8*r.minCeiling(), fr/r.minCeiling())
		}
		if dc := rate(r.CopyRows, r.DurableCopyDur); dc > 0 {
			fmt.Fprintf(&s, "- INFO %s the same rows COPYed into a durable table with the same indexes: %.0f rec/s (%.2f × the UNLOGGED COPY); the sync runs at %.2f × min(fetch-only, durable COPY)\n",
				r.Stream, dc, dc/rate(r.CopyRows, r.CopyDur), fr/math.Min(rate(r.FetchRecords, r.FetchDur), dc))
		}
		dt, dq := pct(r.Delta.Duration.Seconds(), r.Full.Duration.Seconds()), pct(float64(r.Delta.Requests), float64(r.Full.Requests))
		line(dt <= 3 && dq <= 3, "%s delta after %d changes (%s): %.2fs = %.1f%% of full time, %d requests = %.1f%% of full requests (≤ 3%% each); %d of %d changes stored",
			r.Stream, r.Changed, r.Def.change, r.Delta.Duration.Seconds(), dt, r.Delta.Requests, dq, r.Delta.Updated, r.Changed)
		minimal := ceilDiv(r.N, 1000)
		line(float64(r.Full.Requests) <= 1.02*float64(minimal), "%s requests %d ≤ 1.02 × ⌈%d/1000⌉ = %.0f (%.3f×)",
			r.Stream, r.Full.Requests, r.N, 1.02*float64(minimal), float64(r.Full.Requests)/float64(minimal))
		line(len(r.History.RecordDataFound) == 0, "%s no record data in workflow history (%d record strings searched in raw events and decrypted payloads)%s",
			r.Stream, r.Markers, foundList(r.History.RecordDataFound))
		line(r.Full.PeakRSS <= 200<<20, "%s worker peak RSS %.1f MB ≤ 200 MB", r.Stream, mb(r.Full.PeakRSS))
		if r.Def.limit > 0 && len(r.FetchPub) > 0 {
			p := r.fetchPub()
			switch last := r.FetchPub[len(r.FetchPub)-1]; {
			case last.Err != nil:
				line(false, "%s client under S1's limit: walk %d of %d failed: %v", r.Stream, len(r.FetchPub), b.cfg.repeat, last.Err)
			case math.IsNaN(p.util):
				fmt.Fprintf(&s, "- n/a %s client under S1's limit: every walk's requests fit in the bucket's burst of %d, so they say nothing about the rate\n",
					r.Stream, r.Def.burst)
			default:
				line(p.ofReach >= 0.9 && !p.storm, "%s client under S1's limit (%g req/s, burst %d; fetch-only walks, the simulator enforcing): median %.0f%% of the API ceiling over %s (%s), %d × 429 of %d requests (storm = more than 1%% of a walk's); the client runs at a median %.2f × the ceiling this host's walk without limits can reach (target ≥ 0.9)",
					r.Stream, r.Def.limit, r.Def.burst, 100*p.util, plural(len(r.FetchPub), "walk"), p.each, p.n429, p.reqs, p.ofReach)
			}
		}
		if r.API != nil {
			if r.APILimit > 0 {
				storm := r.API.Status429 > max(1, r.API.Requests/100)
				line(r.apiUtil() >= 0.9 && !storm, "%s full sync under S1's limit (%g req/s, burst %d): %.0f%% of the API ceiling (%.0f rec/s), %d × 429 of %d requests (storm = more than 1%%)",
					r.Stream, r.APILimit, r.APIBurst, 100*r.apiUtil(), r.APILimit*1000, r.API.Status429, r.API.Requests)
				if ceil := math.Min(r.APILimit*1000, fr); ceil > 0 {
					fmt.Fprintf(&s, "- INFO %s the full sync under S1's limit ran at %.0f rec/s = %.2f × min(API ceiling %.0f, the same sync without limits %.0f): the limits cost %.0f%% of the rate the database allows\n",
						r.Stream, rate(r.API.Fetched, r.API.Duration), rate(r.API.Fetched, r.API.Duration)/ceil, r.APILimit*1000, fr,
						math.Max(0, 100*(1-rate(r.API.Fetched, r.API.Duration)/ceil)))
				}
				perRec := r.Full.CPU.Worker + r.Full.CPU.Postgres + r.Full.CPU.Simulator
				if us := perRecordMicros(perRec, r.Full.Fetched); us > 0 {
					cores := runtime.NumCPU()
					most := float64(cores) * 1e6 / us
					fmt.Fprintf(&s, "- INFO %s CPU budget: the full sync (without limits; the same work) spent %.0f µs of CPU a record (worker %.0f, PostgreSQL %.0f, simulator %.0f), so this host's %d cores allow at most %.0f rec/s, %.0f%% of the API ceiling; reaching 90%% of it would take %.1f cores of that work\n",
						r.Stream, us, perRecordMicros(r.Full.CPU.Worker, r.Full.Fetched), perRecordMicros(r.Full.CPU.Postgres, r.Full.Fetched),
						perRecordMicros(r.Full.CPU.Simulator, r.Full.Fetched), cores, most, 100*most/(r.APILimit*1000), 0.9*r.APILimit*1000*us/1e6)
				}
			} else {
				fmt.Fprintf(&s, "- n/a %s: S1 publishes no per-path limit for %s (the simulator enforces none; the worker's client starts at 25 req/s and backs off on 429s): %.0f rec/s, %d × 429\n",
					r.Stream, r.Def.path, rate(r.API.Fetched, r.API.Duration), r.API.Status429)
			}
		}
	}
	var vulns *streamResult
	for _, r := range b.results {
		if r.Stream == "vulnerabilities" && r.NotImplemented == "" {
			vulns = r
		}
	}
	if vulns != nil && agents != nil {
		ratio := float64(vulns.Full.PeakRSS) / float64(agents.Full.PeakRSS)
		line(ratio <= 1.2 && vulns.Full.PeakRSS <= 200<<20, "peak RSS flat: the %d-row (vulnerabilities) sync %.1f MB ≤ 1.2 × the %d-row (agents) sync %.1f MB (%.2f×) and ≤ 200 MB",
			vulns.N, mb(vulns.Full.PeakRSS), agents.N, mb(agents.Full.PeakRSS), ratio)
		line(vulns.History.MaxEvents <= 5000, "≤ 5,000 events per workflow run at %d rows: max %d", vulns.N, vulns.History.MaxEvents)
	}
	if sc := b.scale; sc != nil && agents != nil {
		ratio := float64(sc.Run.PeakRSS) / float64(agents.Full.PeakRSS)
		line(ratio <= 1.2 && sc.Run.PeakRSS <= 200<<20, "peak RSS flat (agents scale run): %d-agent sync %.1f MB ≤ 1.2 × %d-agent sync %.1f MB (%.2f×) and ≤ 200 MB",
			sc.N, mb(sc.Run.PeakRSS), agents.N, mb(agents.Full.PeakRSS), ratio)
		line(sc.History.MaxEvents <= 5000, "≤ 5,000 events per workflow run at %d agents: max %d", sc.N, sc.History.MaxEvents)
	}
	return s.String()
}

func foundList(f []string) string {
	if len(f) == 0 {
		return ""
	}
	if len(f) > 3 {
		f = f[:3]
	}
	return ": " + strings.Join(f, "; ")
}

func perRecordMicros(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}
