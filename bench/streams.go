package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/simulator"
)

// streamDef is how the benchmark drives and checks one stream.
type streamDef struct {
	name, table, path string
	windowed          bool
	count             func(*simulator.Simulator) int
	// fetchParams are the parameters of one full walk of the same data (a windowed stream's
	// backfill windows, as one walk over the whole lookback).
	fetchParams func(from, to time.Time) url.Values
	mutate      func(s *simulator.Simulator, n int) int
	change      string // what mutate does
	// markerSQL selects record strings that must never appear in workflow history.
	markerSQL string
	// published per-path limit the simulator enforces (0 = none published).
	limit float64
	burst int
	// shared are the tables besides table the stream fills for every connection (emptied with
	// it before each further full sync, so each one does the first one's work).
	shared []string
}

const tsLayout = "2006-01-02T15:04:05.000000Z"

var streamDefs = map[string]streamDef{
	model.StreamAgents: {
		name: model.StreamAgents, table: "agents", path: "/agents",
		count: func(s *simulator.Simulator) int { return s.AgentCount() },
		fetchParams: func(_, _ time.Time) url.Values {
			return url.Values{"limit": {"1000"}, "sortBy": {"updatedAt"}, "sortOrder": {"asc"}, "isDecommissioned": {"true,false"}}
		},
		mutate: func(s *simulator.Simulator, n int) int { return len(s.ChangeAgents(n)) },
		change: "ChangeAgents",
		markerSQL: `SELECT record_key, raw->>'computerName', raw->>'uuid' FROM agents WHERE connection_id = $1
			ORDER BY md5(record_key) LIMIT 40`,
		limit: 25, burst: 1,
	},
	model.StreamThreats: {
		name: model.StreamThreats, table: "threats", path: "/threats", windowed: true,
		count: func(s *simulator.Simulator) int { return s.ThreatCount() },
		fetchParams: func(from, to time.Time) url.Values {
			return url.Values{"limit": {"1000"}, "sortBy": {"createdAt"}, "sortOrder": {"asc"},
				"createdAt__gte": {from.UTC().Format(tsLayout)}, "createdAt__lt": {to.UTC().Format(tsLayout)}}
		},
		mutate: func(s *simulator.Simulator, n int) int { return len(s.ChangeThreats(n)) },
		change: "ChangeThreats",
		markerSQL: `SELECT record_key, raw#>>'{threatInfo,sha1}', raw#>>'{agentRealtimeInfo,agentComputerName}' FROM threats
			WHERE connection_id = $1 ORDER BY md5(record_key) LIMIT 40`,
		limit: 10, burst: 50,
	},
	model.StreamAlerts: {
		name: model.StreamAlerts, table: "alerts", path: "/cloud-detection/alerts", windowed: true,
		count: func(s *simulator.Simulator) int { return s.AlertCount() },
		fetchParams: func(from, to time.Time) url.Values {
			return url.Values{"limit": {"1000"}, "sortBy": {"alertInfoCreatedAt"}, "sortOrder": {"asc"},
				"createdAt__gte": {from.UTC().Format(tsLayout)}, "createdAt__lt": {to.UTC().Format(tsLayout)}}
		},
		mutate: func(s *simulator.Simulator, n int) int { return len(s.ChangeAlertStatus(n, "RESOLVED")) },
		change: "ChangeAlertStatus RESOLVED",
		markerSQL: `SELECT record_key, raw#>>'{alertInfo,dvEventId}', raw#>>'{agentDetectionInfo,name}' FROM alerts
			WHERE connection_id = $1 ORDER BY md5(record_key) LIMIT 40`,
	},
	model.StreamVulnerabilities: {
		name: model.StreamVulnerabilities, table: "vulnerabilities", path: "/application-management/risks",
		shared: []string{"cve_details"}, // the CVE lookups (/risks/cves) of a sync fill it
		count:  func(s *simulator.Simulator) int { return s.RiskCount() },
		fetchParams: func(_, _ time.Time) url.Values {
			return url.Values{"limit": {"1000"}, "sortBy": {"id"}, "includeRemovals": {"true"}}
		},
		mutate: func(s *simulator.Simulator, n int) int { return len(s.ChangeRiskSeverity(n)) },
		change: "ChangeRiskSeverity",
		markerSQL: `SELECT record_key, raw->>'endpointName', raw->>'endpointId' FROM vulnerabilities WHERE connection_id = $1
			ORDER BY md5(record_key) LIMIT 40`,
	},
}

// runResult is one sync as measured.
type runResult struct {
	Duration   time.Duration // the run's own StartedAt → FinishedAt
	Wall       time.Duration // starter sync --wait, process to process
	Fetched    int64
	Inserted   int64
	Updated    int64
	Requests   int   // GETs on the stream's path the simulator logged
	Status429  int   // of which 429
	ByID       int   // of which asked for records by ID (the alerts status refresh)
	PeakRSS    int64 // VmHWM bytes
	CPU        cpuUse
	Status     string
	Mode       string
	Windows    int
	Refreshed  int64
	WorkflowID string
}

// streamResult is everything measured for one stream.
type streamResult struct {
	Stream         string
	NotImplemented string
	N              int
	Full, Delta    runResult
	Changed        int
	History        historyStats
	Markers        int
	FetchRecords   int64
	FetchRequests  int64
	FetchDur       time.Duration // no client-side limits
	FetchPub       []pubWalk     // the worker's client: S1's published limits, the simulator enforcing them; -repeat walks
	CopyRows       int64
	CopyDur        time.Duration
	DurableCopyDur time.Duration    // the same rows COPYed into a logged table with the same indexes
	CopyCPU        [2]time.Duration // PostgreSQL's CPU in the UNLOGGED and the durable COPY
	Rounds         []round          // every full sync with its COPY ceiling: the first is Full, then -repeat's further ones
	API            *runResult
	APILimit       float64
	APIBurst       int
	Def            streamDef
}

// round is one full sync and the UNLOGGED COPY of the rows it stored, measured back to back.
type round struct {
	Fetched, CopyRows int64
	Sync, Copy        time.Duration
}

// pubWalk is one fetch-only walk with the worker's client limits while the simulator enforces
// S1's published ones.
type pubWalk struct {
	Dur        time.Duration
	Reqs, N429 int   // requests of that walk (simulator log), 429s included
	Err        error // the walk failed (its numbers are then partial)
}

// ratio is the round's full-sync rate ÷ min(fetch-only, its COPY rate).
func (rd round) ratio(fetchOnly float64) float64 {
	c := rate(rd.CopyRows, rd.Copy)
	if c == 0 || fetchOnly < c {
		c = fetchOnly
	}
	return rate(rd.Fetched, rd.Sync) / c
}

type bench struct {
	cfg              config
	e                *env
	sim              *simulator.Simulator
	srv              *simulator.Server
	caFile           string
	tokFile          string
	tc               client.Client
	codec            converter.PayloadCodec
	lookFrom, lookTo time.Time
	results          []*streamResult
	scale            *scaleResult
	profile          string
}

func (b *bench) setup() error {
	b.caFile = filepath.Join(b.e.dir, "ca.pem")
	if err := os.WriteFile(b.caFile, b.srv.CAPEM, 0o600); err != nil {
		return err
	}
	b.tokFile = filepath.Join(b.e.dir, "token")
	if err := os.WriteFile(b.tokFile, []byte(simulator.DefaultToken+"\n"), 0o600); err != nil {
		return err
	}
	tc, err := b.e.temporalClient()
	if err != nil {
		return err
	}
	b.tc = tc
	keys, err := codec.ParseKeyRing(b.e.key)
	if err != nil {
		return err
	}
	b.codec = codec.NewPayloadCodec(keys)
	return nil
}

// createConnection creates a single-stream connection whose first scheduled run is far in
// the future, so the measured sync is the one `sync --wait` asks for. It returns the
// starter's refusal (exit 2) as notImpl.
func (b *bench) createConnection(id, stream, consoleURL, caFile string) (notImpl string, err error) {
	args := []string{"connection", "create", "--id", id, "--console-url", consoleURL, "--token-file", b.tokFile,
		"--ca-file", caFile, "--schedule", "24h", "--streams", stream, "--skip-test",
		"--start-at", time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)}
	if model.IsWindowed(stream) {
		args = append(args, "--lookback", "30d")
	}
	out, errOut, code, err := b.e.starter(2*time.Minute, args...)
	if err != nil {
		return "", err
	}
	switch code {
	case 0:
		return "", nil
	case 2:
		return strings.TrimSpace(errOut + out), nil
	}
	return "", fmt.Errorf("connection create %s exited %d: %s%s", id, code, errOut, out)
}

// checkpoint makes PostgreSQL write out what earlier phases left dirty, so a timed phase does not
// pay for the one before it: with max_wal_size 1GB a full sync of 100k agents triggers a WAL
// checkpoint that went on for ~50 s, through the delta measured after it (PostgreSQL's log).
func (b *bench) checkpoint(ctx context.Context) {
	if _, err := b.e.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		logf("CHECKPOINT failed (%v): the next phase may pay for the last one's writes", err)
	}
}

func (b *bench) measureSync(id string, def streamDef, w *worker, sim *simulator.Simulator, extra ...string) (runResult, error) {
	b.checkpoint(context.Background())
	sim.ResetRequests()
	if !w.resetPeakRSS() {
		logf("cannot reset VmHWM of the worker; peak RSS includes earlier phases")
	}
	cpu0 := w.cpuSnap()
	sum, wall, err := b.e.syncWait(id, extra...)
	if err != nil {
		return runResult{}, err
	}
	r := runResult{Duration: sum.FinishedAt.Sub(sum.StartedAt), Wall: wall, Status: sum.Status, Mode: sum.Mode,
		PeakRSS: w.peakRSS(), CPU: w.cpuSnap().since(cpu0), WorkflowID: sum.WorkflowID}
	for _, s := range sum.Streams {
		if s.Stream == def.name {
			r.Fetched, r.Inserted, r.Updated, r.Windows, r.Refreshed = s.Fetched, s.Inserted, s.Updated, s.Windows, s.Refreshed
			r.Mode = s.Mode
			if s.Error != nil {
				return r, fmt.Errorf("sync %s: %s: %s", id, s.Error.Type, s.Error.Message)
			}
		}
	}
	if sum.Status != model.RunSuccess {
		return r, fmt.Errorf("sync %s ended %s: %+v", id, sum.Status, sum.Error)
	}
	r.Requests, r.ByID, r.Status429 = pathRequests(sim, def.path)
	return r, nil
}

// pathRequests counts the GETs the simulator logged on path and its sub-paths
// (vulnerabilities: /risks/cves lookups): all of them, those asking for records by ID, and
// those refused with 429.
func pathRequests(sim *simulator.Simulator, path string) (reqs, byID, n429 int) {
	for _, q := range sim.Requests() {
		if q.Method == "GET" && strings.HasPrefix(q.Path, simulator.APIPrefix+path) {
			reqs++
			if v, err := url.ParseQuery(q.RawQuery); err == nil && v.Get("ids") != "" {
				byID++
			}
			if q.Status == 429 {
				n429++
			}
		}
	}
	return reqs, byID, n429
}

func (b *bench) runStream(ctx context.Context, def streamDef) (*streamResult, error) {
	res := &streamResult{Stream: def.name, N: def.count(b.sim), Def: def}
	id := "bench-" + def.name
	logf("%s: %d records; starting a fresh worker", def.name, res.N)
	w, err := b.e.startWorker()
	if err != nil {
		return nil, err
	}
	defer w.stop()
	notImpl, err := b.createConnection(id, def.name, b.srv.URL, b.caFile)
	if err != nil {
		return nil, err
	}
	if notImpl != "" {
		res.NotImplemented = notImpl
		logf("%s: not implemented in this build: %s", def.name, notImpl)
		b.fetchCeiling(ctx, res)
		return res, nil
	}
	time.Sleep(2 * time.Second) // let the connection workflow settle (Testing → Scheduled)
	b.lookTo = time.Now()
	b.lookFrom = b.lookTo.Add(-30 * 24 * time.Hour)
	logf("%s: full sync", def.name)
	if res.Full, err = b.measureSync(id, def, w, b.sim); err != nil {
		return nil, err
	}
	logf("%s: full sync %d records in %s (%.0f rec/s), %d requests, peak RSS %.1f MB; CPU: worker %.1fs, PostgreSQL %.1fs, simulator %.1fs",
		def.name, res.Full.Fetched, res.Full.Duration.Round(time.Millisecond), rate(res.Full.Fetched, res.Full.Duration), res.Full.Requests,
		mb(res.Full.PeakRSS), res.Full.CPU.Worker.Seconds(), res.Full.CPU.Postgres.Seconds(), res.Full.CPU.Simulator.Seconds())
	res.Changed = def.mutate(b.sim, max(1, res.N/100))
	logf("%s: changed %d records; delta sync", def.name, res.Changed)
	if res.Delta, err = b.measureSync(id, def, w, b.sim); err != nil {
		return nil, err
	}
	logf("%s: delta %d fetched, %d updated in %s, %d requests", def.name, res.Delta.Fetched, res.Delta.Updated,
		res.Delta.Duration.Round(time.Millisecond), res.Delta.Requests)
	w.stop()

	markers, err := b.markers(ctx, def, id)
	if err != nil {
		return nil, err
	}
	res.Markers = len(markers)
	time.Sleep(time.Second) // visibility
	res.History, err = connectionHistory(ctx, b.tc, b.codec, []string{model.ConnectionWorkflowID(id), res.Full.WorkflowID, res.Delta.WorkflowID}, markers)
	if err != nil {
		return nil, err
	}
	logf("%s: history: %d runs, max %d events/run, largest payload %d B, record data found: %d", def.name,
		res.History.Runs, res.History.MaxEvents, res.History.LargestPayload, len(res.History.RecordDataFound))
	b.fetchCeiling(ctx, res)
	logf("%s: COPY ceiling", def.name)
	b.checkpoint(ctx)
	if res.CopyRows, res.CopyDur, res.DurableCopyDur, res.CopyCPU, err = copyOnly(ctx, b.e.db, def.table, id, true); err != nil {
		return nil, err
	}
	logf("%s: COPY %d rows in %s (%.0f rows/s); into a durable indexed table %s (%.0f rows/s)", def.name, res.CopyRows,
		res.CopyDur.Round(time.Millisecond), rate(res.CopyRows, res.CopyDur), res.DurableCopyDur.Round(time.Millisecond), rate(res.CopyRows, res.DurableCopyDur))
	res.Rounds = append(res.Rounds, round{Fetched: res.Full.Fetched, Sync: res.Full.Duration, CopyRows: res.CopyRows, Copy: res.CopyDur})
	for i := 2; i <= b.cfg.repeat; i++ {
		if err := b.repeatRound(ctx, def, res, i); err != nil {
			return nil, fmt.Errorf("full sync %d of %d: %w", i, b.cfg.repeat, err)
		}
	}
	return res, nil
}

// newConnection starts a fresh worker and creates connection id for def's stream on it (the
// caller stops the worker).
func (b *bench) newConnection(id string, def streamDef) (*worker, error) {
	w, err := b.e.startWorker()
	if err != nil {
		return nil, err
	}
	if _, err := b.createConnection(id, def.name, b.srv.URL, b.caFile); err != nil {
		w.stop()
		return nil, err
	}
	time.Sleep(2 * time.Second) // let the connection workflow settle (Testing → Scheduled)
	return w, nil
}

// repeatRound measures one more full sync of the stream and the COPY ceiling of what it stored,
// on the conditions of the first: the stream's table emptied, a new connection, a fresh worker.
// Why: on a shared 2-core host one run's ratio moves by ±0.15 (the UNLOGGED COPY of the same
// 100k agents measured 6,067, 4,752 and 5,884 rows/s in one run); the target is judged on the
// median of the runs' ratios, each run against the ceiling measured right after it.
func (b *bench) repeatRound(ctx context.Context, def streamDef, res *streamResult, i int) error {
	if _, err := b.e.db.ExecContext(ctx, `TRUNCATE `+strings.Join(append([]string{def.table}, def.shared...), ", ")); err != nil {
		return err
	}
	id := fmt.Sprintf("bench-%s-r%d", def.name, i)
	w, err := b.newConnection(id, def)
	if err != nil {
		return err
	}
	defer w.stop()
	logf("%s: full sync %d of %d", def.name, i, b.cfg.repeat)
	r, err := b.measureSync(id, def, w, b.sim)
	if err != nil {
		return err
	}
	w.stop()
	b.checkpoint(ctx)
	rows, d, _, _, err := copyOnly(ctx, b.e.db, def.table, id, false)
	if err != nil {
		return err
	}
	rd := round{Fetched: r.Fetched, Sync: r.Duration, CopyRows: rows, Copy: d}
	res.Rounds = append(res.Rounds, rd)
	logf("%s: full sync %d of %d: %d records in %s (%.0f rec/s); COPY %d rows in %s (%.0f rows/s); ratio %.2f", def.name, i, b.cfg.repeat,
		r.Fetched, r.Duration.Round(time.Millisecond), rate(r.Fetched, r.Duration), rows, d.Round(time.Millisecond), rate(rows, d),
		rd.ratio(rate(res.FetchRecords, res.FetchDur)))
	return nil
}

// medianRatio is the median of the rounds' ratios (the mean of the middle two for an even
// count), with the ratios in run order.
func (r *streamResult) medianRatio() (float64, []float64) {
	f := rate(r.FetchRecords, r.FetchDur)
	var rs []float64
	for _, rd := range r.Rounds {
		rs = append(rs, rd.ratio(f))
	}
	return median(rs), rs
}

// median of xs (the mean of the middle two for an even count; 0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(xs))
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func (b *bench) fetchCeiling(ctx context.Context, res *streamResult) {
	from, to := b.lookFrom, b.lookTo
	if to.IsZero() {
		to = time.Now()
		from = to.Add(-30 * 24 * time.Hour)
	}
	params := res.Def.fetchParams(from, to)
	logf("%s: fetch-only ceiling (no client limits)", res.Stream)
	var err error
	res.FetchRecords, res.FetchRequests, res.FetchDur, err = fetchOnly(ctx, b.srv.URL, b.srv.CAPEM, simulator.DefaultToken,
		res.Def.path, params, sentinelone.NoRateLimits())
	if err != nil {
		logf("%s: fetch-only: %v", res.Stream, err)
		return
	}
	logf("%s: fetch-only %d records in %d requests, %s (%.0f rec/s)", res.Stream, res.FetchRecords, res.FetchRequests,
		res.FetchDur.Round(time.Millisecond), rate(res.FetchRecords, res.FetchDur))
	// The same walk with the worker's client limits (S1's published table) while the simulator
	// enforces that table with 429 + Retry-After: how much of the API ceiling the client itself
	// uses when nothing downstream holds it back. -repeat walks where S1 publishes a limit (one
	// elsewhere: no target uses them), each with fresh buckets on both sides: one 429 costs its
	// Retry-After (a second), a fifth of a 100-page agents walk, so one walk says little; the
	// target takes the median of the walks' ratios, as the full-sync target does. A walk that
	// fails is kept with its error, and the target is missed.
	walks := 1
	if res.Def.limit > 0 {
		walks = b.cfg.repeat
	}
	for i := 1; i <= walks; i++ {
		b.sim.ResetRequests()
		b.sim.SetRateLimits(true, true)
		var w pubWalk
		_, _, w.Dur, w.Err = fetchOnly(ctx, b.srv.URL, b.srv.CAPEM, simulator.DefaultToken, res.Def.path, params, nil)
		b.sim.SetRateLimits(false, false)
		w.Reqs, _, w.N429 = pathRequests(b.sim, res.Def.path)
		res.FetchPub = append(res.FetchPub, w)
		if w.Err != nil {
			logf("%s: fetch-only under S1's limits, walk %d of %d: %v", res.Stream, i, walks, w.Err)
			return
		}
		logf("%s: fetch-only under S1's limits (simulator enforcing), walk %d of %d: %s, %d requests, %d × 429", res.Stream,
			i, walks, w.Dur.Round(time.Millisecond), w.Reqs, w.N429)
	}
}

func (b *bench) markers(ctx context.Context, def streamDef, id string) ([]string, error) {
	rows, err := b.e.db.QueryContext(ctx, def.markerSQL, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, c, d sql.NullString
		if err := rows.Scan(&a, &c, &d); err != nil {
			return nil, err
		}
		for _, v := range []sql.NullString{a, c, d} {
			if v.Valid && len(v.String) >= 8 {
				out = append(out, v.String)
			}
		}
	}
	return out, rows.Err()
}

// apiCeiling syncs the stream again on a new connection with the simulator enforcing S1's
// published per-path limits (429 + Retry-After when exceeded).
func (b *bench) apiCeiling(ctx context.Context, res *streamResult) error {
	def := res.Def
	res.APILimit, res.APIBurst = def.limit, def.burst
	id := "api-" + def.name
	logf("%s: API-ceiling run (simulator enforces the published limits)", def.name)
	w, err := b.newConnection(id, def)
	if err != nil {
		return err
	}
	defer w.stop()
	b.sim.SetRateLimits(true, true)
	defer b.sim.SetRateLimits(false, false)
	r, err := b.measureSync(id, def, w, b.sim)
	if err != nil {
		return err
	}
	res.API = &r
	logf("%s: API run %d records in %s (%.0f rec/s), %d requests, %d × 429", def.name, r.Fetched,
		r.Duration.Round(time.Millisecond), rate(r.Fetched, r.Duration), r.Requests, r.Status429)
	return nil
}

type scaleResult struct {
	N       int
	Run     runResult
	History historyStats
}

// scaleRun syncs a tenant of cfg.scaleAgents agents (its own simulator) with a fresh worker:
// peak RSS and history size at 10× the agents benchmark.
func (b *bench) scaleRun(ctx context.Context) error {
	n := b.cfg.scaleAgents
	logf("scale: building a %d-agent simulator", n)
	sim := simulator.New(simulator.Options{Seed: 43, Agents: n, MaxRequestLog: 2_000_000})
	srv, err := sim.Start(true)
	if err != nil {
		return err
	}
	defer srv.Close()
	ca := filepath.Join(b.e.dir, "ca-scale.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		return err
	}
	w, err := b.e.startWorker()
	if err != nil {
		return err
	}
	defer w.stop()
	id := "scale-agents"
	if _, err := b.createConnection(id, model.StreamAgents, srv.URL, ca); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	r, err := b.measureSync(id, streamDefs[model.StreamAgents], w, sim)
	if err != nil {
		return err
	}
	w.stop()
	logf("scale: %d agents in %s (%.0f rec/s), %d requests, peak RSS %.1f MB", r.Fetched, r.Duration.Round(time.Millisecond),
		rate(r.Fetched, r.Duration), r.Requests, mb(r.PeakRSS))
	time.Sleep(time.Second)
	hs, err := connectionHistory(ctx, b.tc, b.codec, []string{model.ConnectionWorkflowID(id), r.WorkflowID}, nil)
	if err != nil {
		return err
	}
	b.scale = &scaleResult{N: n, Run: r, History: hs}
	if _, err := b.e.db.ExecContext(ctx, `DELETE FROM agents WHERE connection_id = $1`, id); err != nil {
		return err
	}
	return nil
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
