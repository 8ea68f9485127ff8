package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/conncheck"
	"github.com/sentinelone-connector/s1conn/filters"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/routing"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/store"
	"github.com/sentinelone-connector/s1conn/workflows"
)

// connFlags are the flags create and test share.
type connFlags struct {
	consoleURL, tokenFile, tokenEnv, streams, accountIDs, siteIDs, filtersFile string
	lookback, schedule, timezone, startAt, endAt, caFile, overlap, reconcile   string
	alertRefresh, routesFile, riskScores, defaultSeverity                      string
	insecure, routeBackfill                                                    bool
	backfillWindows                                                            int
}

func (f *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.consoleURL, "console-url", "", "console host or https://host")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the API token, or - for stdin")
	fs.StringVar(&f.tokenEnv, "token-env", "", "environment variable holding the API token")
	fs.StringVar(&f.streams, "streams", "", "comma-separated streams (default: every stream this build supports)")
	fs.StringVar(&f.accountIDs, "account-ids", "", "comma-separated account IDs to scope every stream")
	fs.StringVar(&f.siteIDs, "site-ids", "", "comma-separated site IDs to scope every stream")
	fs.StringVar(&f.filtersFile, "filters-file", "", "JSON filters per stream")
	fs.StringVar(&f.lookback, "lookback", "14d", "how far back the first sync of threats/alerts reads")
	fs.StringVar(&f.schedule, "schedule", model.DefaultSchedule, "interval (1h) or cron (\"0 2 * * *\", @daily)")
	fs.StringVar(&f.timezone, "timezone", "UTC", "IANA timezone of a cron schedule")
	fs.StringVar(&f.startAt, "start-at", "", "RFC3339 time of the first scheduled run")
	fs.StringVar(&f.endAt, "end-at", "", "RFC3339 time after which no run is scheduled (default: 5 years after start)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM CA certificate(s) trusted for the console")
	fs.StringVar(&f.overlap, "overlap", "5m", "delta overlap re-read on every sync")
	fs.StringVar(&f.reconcile, "reconcile-every", "24h", "how often a full walk detects removed records")
	fs.IntVar(&f.backfillWindows, "backfill-windows", model.DefaultBackfillWindows,
		"parallel windows a threats/alerts backfill is split into (1-64); each costs up to one extra request, more help a slow console")
	fs.StringVar(&f.alertRefresh, "alert-refresh-window", "72h", "catch status changes of alerts created this recently on every sync: the delta re-walks this window, or re-reads its unresolved alerts by ID, whichever takes fewer requests")
	fs.BoolVar(&f.insecure, "insecure-http", false, "allow http:// console URLs (testing only)")
	fs.StringVar(&f.riskScores, "risk-scores", "", "vulnerability risk score per severity level 1..5, e.g. 20,40,60,80,100 (Qualys ETM's default)")
	fs.StringVar(&f.defaultSeverity, "default-severity", "", "severity for findings that carry none: LOW, MEDIUM, HIGH or CRITICAL")
	fs.StringVar(&f.routesFile, "routes-file", "", "JSON routes sending new/changed/resolved detections to workflows or webhooks")
	fs.BoolVar(&f.routeBackfill, "route-backfill", false, "let routes fire for records read by the first sync's lookback backfill")
}

// checkBackfillWindows validates --backfill-windows (create and update).
func checkBackfillWindows(n int) error {
	if n < 1 || n > workflows.MaxBackfillWindows {
		return fmt.Errorf("--backfill-windows=%d must be between 1 and %d", n, workflows.MaxBackfillWindows)
	}
	return nil
}

var numericID = regexp.MustCompile(`^[0-9]{15,20}$`)

// settings validates the flags into connection settings; the console URL comes back normalised.
func (f *connFlags) settings() (string, model.ConnectionSettings, error) {
	var s model.ConnectionSettings
	var errs []string
	if f.consoleURL == "" {
		errs = append(errs, "--console-url is required (e.g. usea1-acme.sentinelone.net)")
	}
	base, err := sentinelone.NormalizeConsoleURL(f.consoleURL, f.insecure)
	if f.consoleURL != "" && err != nil {
		errs = append(errs, "--console-url: "+err.Error())
	}
	s.Streams = splitList(f.streams)
	if len(s.Streams) == 0 {
		s.Streams = append(s.Streams, model.ImplementedStreams...)
	}
	seen := map[string]bool{}
	for _, st := range s.Streams {
		switch {
		case seen[st]:
			errs = append(errs, fmt.Sprintf("--streams lists %q twice", st))
		case !model.IsImplementedStream(st):
			errs = append(errs, fmt.Sprintf("--streams: unknown or unsupported stream %q (this build supports: %s)", st, strings.Join(model.ImplementedStreams, ", ")))
		}
		seen[st] = true
	}
	for flagName, ids := range map[string]string{"--account-ids": f.accountIDs, "--site-ids": f.siteIDs} {
		for _, id := range splitList(ids) {
			if !numericID.MatchString(id) {
				errs = append(errs, fmt.Sprintf("%s: %q is not a SentinelOne ID (18-19 digits)", flagName, id))
			}
		}
	}
	s.AccountIDs, s.SiteIDs = splitList(f.accountIDs), splitList(f.siteIDs)
	if f.filtersFile != "" {
		b, err := os.ReadFile(f.filtersFile)
		if err != nil {
			errs = append(errs, "--filters-file: "+err.Error())
		} else if s.Filters, err = filters.Parse(b); err != nil {
			errs = append(errs, "--filters-file: "+err.Error())
		}
	}
	if s.Lookback, err = parseDuration(f.lookback); err != nil {
		errs = append(errs, "--lookback: "+err.Error())
	} else if s.Lookback == 0 {
		errs = append(errs, "--lookback must be positive")
	}
	if s.Overlap, err = parseDuration(f.overlap); err != nil {
		errs = append(errs, "--overlap: "+err.Error())
	}
	if err := checkBackfillWindows(f.backfillWindows); err != nil {
		errs = append(errs, err.Error())
	}
	s.BackfillWindows = f.backfillWindows
	if s.AlertRefresh, err = parseDuration(f.alertRefresh); err != nil {
		errs = append(errs, "--alert-refresh-window: "+err.Error())
	}
	if s.ReconcileEvery, err = parseDuration(f.reconcile); err != nil {
		errs = append(errs, "--reconcile-every: "+err.Error())
	} else if s.ReconcileEvery < time.Hour {
		errs = append(errs, "--reconcile-every must be at least 1h")
	}
	s.Schedule, s.Timezone = f.schedule, f.timezone
	if err := workflows.ValidateSchedule(f.schedule, f.timezone); err != nil {
		errs = append(errs, "--schedule: "+err.Error())
	}
	for name, p := range map[string]struct {
		v   string
		dst *time.Time
	}{"--start-at": {f.startAt, &s.StartAt}, "--end-at": {f.endAt, &s.EndAt}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %q is not an RFC3339 time like 2026-01-02T03:04:05Z", name, p.v))
			continue
		}
		*p.dst = t.UTC()
	}
	if !s.StartAt.IsZero() && !s.EndAt.IsZero() && !s.EndAt.After(s.StartAt) {
		errs = append(errs, "--end-at must be after --start-at")
	}
	if f.caFile != "" {
		b, err := os.ReadFile(f.caFile)
		switch {
		case err != nil:
			errs = append(errs, "--ca-file: "+err.Error())
		case !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----"):
			errs = append(errs, "--ca-file holds no PEM certificate")
		default:
			s.CAPEM = string(b)
		}
	}
	s.InsecureHTTP = f.insecure
	s.RouteBackfill = f.routeBackfill
	if f.riskScores != "" {
		parts := splitList(f.riskScores)
		if len(parts) != 5 {
			errs = append(errs, "--risk-scores needs 5 comma-separated scores, one per level 1..5 (e.g. 20,40,60,80,100)")
		}
		prev := -1
		for _, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 100 || n < prev {
				errs = append(errs, fmt.Sprintf("--risk-scores: %q must be non-decreasing whole numbers from 1 to 100", f.riskScores))
				break
			}
			prev = n
			s.RiskScores = append(s.RiskScores, n)
		}
	}
	if f.defaultSeverity != "" {
		lvl := map[string]int{"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}[strings.ToUpper(f.defaultSeverity)]
		if lvl == 0 {
			errs = append(errs, fmt.Sprintf("--default-severity %q: use LOW, MEDIUM, HIGH or CRITICAL", f.defaultSeverity))
		}
		s.DefaultSeverityLevel = lvl
	}
	if f.routesFile != "" {
		if s.Routes, err = readRoutes(f.routesFile); err != nil {
			errs = append(errs, err.Error())
		}
		for stream := range s.Routes {
			if !slices.Contains(s.Streams, stream) {
				errs = append(errs, fmt.Sprintf("--routes-file routes stream %q, which --streams does not enable", stream))
			}
		}
	}
	if len(errs) > 0 {
		return "", s, usageErr("%s", strings.Join(errs, "; "))
	}
	return base, s, nil
}

func (e *env) printChecks(res model.CheckConnectionResult) {
	if e.jsonOut {
		_ = e.printJSON(res)
		return
	}
	for i, c := range res.Checks {
		line := fmt.Sprintf("%d. %-15s %-4s %6s  %s", i+1, c.Name, strings.ToUpper(c.Outcome), c.Duration.Round(time.Millisecond), c.Detail)
		if c.Name == conncheck.CheckTokenExpiry {
			line = fmt.Sprintf("   %-15s %-4s %6s  %s", c.Name, strings.ToUpper(c.Outcome), c.Duration.Round(time.Millisecond), c.Detail)
		}
		fmt.Fprintln(e.stdout, line)
		if c.Remediation != "" && c.Outcome != model.CheckPass {
			fmt.Fprintln(e.stdout, "   → "+c.Remediation)
		}
	}
}

func (e *env) test(args []string) error {
	fs := flag.NewFlagSet("connection test", flag.ContinueOnError)
	var f connFlags
	f.register(fs)
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("connection test takes no arguments besides flags (got %q)", pos[0])
	}
	base, s, err := f.settings()
	if err != nil {
		return err
	}
	tok, err := e.readToken(f.tokenFile, f.tokenEnv)
	if err != nil {
		return err
	}
	res := conncheck.Run(e.ctx, conncheck.Input{ConsoleURL: base, Token: tok, Settings: s})
	e.printChecks(res)
	if !res.OK {
		return &cliError{code: exitTestFail, msg: "connection test failed: " + res.Error.Message}
	}
	return nil
}

func (e *env) create(args []string) error {
	fs := flag.NewFlagSet("connection create", flag.ContinueOnError)
	var f connFlags
	f.register(fs)
	id := fs.String("id", "", "connection ID")
	name := fs.String("name", "", "display name")
	desc := fs.String("description", "", "description")
	skip := fs.Bool("skip-test", false, "create without passing the connection test")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("connection create takes --id ID, not a positional argument (got %q)", pos[0])
	}
	if err := validateID(*id); err != nil {
		return err
	}
	base, s, err := f.settings()
	if err != nil {
		return err
	}
	if s.EndAt.IsZero() {
		start := s.StartAt
		if start.IsZero() {
			start = time.Now().UTC()
		}
		s.EndAt = start.AddDate(5, 0, 0) // Qualys ETM's default period
	}
	tok, err := e.readToken(f.tokenFile, f.tokenEnv)
	if err != nil {
		return err
	}
	keys, err := e.keyRing()
	if err != nil {
		return err
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	if c, err := db.GetConnection(e.ctx, *id); err == nil && c.DeletedAt.IsZero() {
		return usageErr("connection %q already exists: choose another --id or delete it first", *id)
	}
	var expires time.Time
	if !*skip {
		res := conncheck.Run(e.ctx, conncheck.Input{ConsoleURL: base, Token: tok, Settings: s})
		e.printChecks(res)
		if !res.OK {
			return &cliError{code: exitTestFail, msg: "connection test failed, nothing created: " + res.Error.Message + " (use --skip-test to create anyway)"}
		}
		expires = res.TokenExpiresAt
	}
	sealed, err := keys.Seal([]byte(tok), *id)
	if err != nil {
		return err
	}
	conn := &store.Connection{ID: *id, Name: *name, Description: *desc, ConsoleURL: base, Settings: s,
		TokenSealed: sealed, TokenFingerprint: codec.Fingerprint(tok), TokenExpiresAt: expires, State: model.StateRegistered}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	if err := db.CreateConnection(e.ctx, conn); err != nil {
		if errors.Is(err, store.ErrExists) {
			return usageErr("%v", err)
		}
		return err
	}
	cfg, _ := e.config()
	_, err = tc.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{
		ID:                       model.ConnectionWorkflowID(*id),
		TaskQueue:                cfg.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAConnectionID.ValueSet(*id),
			workflows.SAConnectorState.ValueSet(string(model.StateRegistered))),
	}, model.ConnectionWorkflowName, model.ConnectionWorkflowInput{ConnectionID: *id})
	if err != nil {
		_ = db.DeleteConnectionRow(e.ctx, *id) // nothing half-created (kept records of a deleted namesake stay)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return usageErr("a workflow for connection %q is still running: delete it first (`starter connection delete %s`)", *id, *id)
		}
		return fmt.Errorf("starting the connection workflow: %w", err)
	}
	if e.jsonOut {
		return e.printJSON(map[string]any{"id": *id, "state": model.StateRegistered, "workflowId": model.ConnectionWorkflowID(*id),
			"tokenFingerprint": conn.TokenFingerprint})
	}
	fmt.Fprintf(e.stdout, "connection %s created (workflow %s, token %s); first sync starts now — follow it with `starter status %s`\n",
		*id, model.ConnectionWorkflowID(*id), conn.TokenFingerprint, *id)
	return nil
}

func (e *env) list(args []string) error {
	fs := flag.NewFlagSet("connection list", flag.ContinueOnError)
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("connection list takes no arguments")
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	conns, err := db.ListConnections(e.ctx)
	if err != nil {
		return err
	}
	type row struct {
		ID             string     `json:"id"`
		Name           string     `json:"name,omitempty"`
		ConsoleURL     string     `json:"consoleUrl"`
		State          string     `json:"state"`
		Streams        []string   `json:"streams"`
		Schedule       string     `json:"schedule"`
		Token          string     `json:"tokenFingerprint"`
		TokenExpiresAt *time.Time `json:"tokenExpiresAt,omitempty"`
	}
	rows := make([]row, 0, len(conns))
	for _, c := range conns {
		r := row{ID: c.ID, Name: c.Name, ConsoleURL: c.ConsoleURL, State: string(c.State), Streams: c.Settings.Streams,
			Schedule: c.Settings.ScheduleSpec().Schedule, Token: c.TokenFingerprint}
		if !c.TokenExpiresAt.IsZero() {
			t := c.TokenExpiresAt
			r.TokenExpiresAt = &t
		}
		rows = append(rows, r)
	}
	if e.jsonOut {
		return e.printJSON(rows)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tCONSOLE\tSTREAMS\tSCHEDULE\tTOKEN\tEXPIRES")
	for _, r := range rows {
		exp := "-"
		if r.TokenExpiresAt != nil {
			exp = r.TokenExpiresAt.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, r.ConsoleURL, strings.Join(r.Streams, ","), r.Schedule, r.Token, exp)
	}
	return tw.Flush()
}

func (e *env) delete(args []string) error {
	fs := flag.NewFlagSet("connection delete", flag.ContinueOnError)
	purge := fs.Bool("purge", false, "also delete the connection's stored records")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "connection delete")
	if err != nil {
		return err
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	if _, err := db.GetConnection(e.ctx, id); err != nil {
		return usageErr("%v", err)
	}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	wid := model.ConnectionWorkflowID(id)
	err = tc.SignalWorkflow(e.ctx, wid, "", model.SignalDelete, model.DeleteRequest{Purge: *purge})
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		// No workflow runs (it ended or never started): apply the deletion directly.
		if *purge {
			err = db.PurgeConnection(e.ctx, id)
		} else {
			err = db.SetState(e.ctx, id, model.StateDeleted, nil, time.Time{})
		}
		if err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("signalling delete: %w", err)
	default:
		if err := tc.GetWorkflow(e.ctx, wid, "").Get(e.ctx, nil); err != nil {
			return fmt.Errorf("waiting for the connection workflow to finish deleting: %w", err)
		}
	}
	if e.jsonOut {
		return e.printJSON(map[string]any{"id": id, "state": model.StateDeleted, "purged": *purge})
	}
	what := "its records are kept (export still works); use --purge to remove them"
	if *purge {
		what = "its records were purged"
	}
	fmt.Fprintf(e.stdout, "connection %s deleted; %s\n", id, what)
	return nil
}

func (e *env) signal(args []string, which string) error {
	fs := flag.NewFlagSet("connection "+which, flag.ContinueOnError)
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "connection "+which)
	if err != nil {
		return err
	}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	sig := model.SignalPause
	if which == "resume" {
		sig = model.SignalResume
	}
	if err := tc.SignalWorkflow(e.ctx, model.ConnectionWorkflowID(id), "", sig, nil); err != nil {
		return notRunning(id, err)
	}
	if e.jsonOut {
		return e.printJSON(map[string]any{"id": id, "signal": sig})
	}
	fmt.Fprintf(e.stdout, "connection %s: %s requested\n", id, which)
	return nil
}

func (e *env) update(args []string) error {
	fs := flag.NewFlagSet("connection update", flag.ContinueOnError)
	schedule := fs.String("schedule", "", "new schedule")
	tz := fs.String("timezone", "", "new timezone")
	streams := fs.String("streams", "", "new streams")
	startAt := fs.String("start-at", "", "new start")
	endAt := fs.String("end-at", "", "new end")
	routesFile := fs.String("routes-file", "", "replace the routes")
	windows := fs.Int("backfill-windows", 0, "new number of parallel backfill windows (1-64)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "connection update")
	if err != nil {
		return err
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	c, err := db.GetConnection(e.ctx, id)
	if err != nil {
		return usageErr("%v", err)
	}
	s := c.Settings
	if *schedule != "" {
		s.Schedule = *schedule
	}
	if *tz != "" {
		s.Timezone = *tz
	}
	windowsSet := false
	fs.Visit(func(f *flag.Flag) { windowsSet = windowsSet || f.Name == "backfill-windows" })
	if windowsSet {
		if err := checkBackfillWindows(*windows); err != nil {
			return usageErr("%v", err)
		}
		s.BackfillWindows = *windows
	}
	if err := workflows.ValidateSchedule(s.ScheduleSpec().Schedule, s.Timezone); err != nil {
		return usageErr("--schedule: %v", err)
	}
	if *streams != "" {
		s.Streams = splitList(*streams)
		for i, st := range s.Streams {
			if slices.Contains(s.Streams[:i], st) {
				return usageErr("--streams lists %q twice", st)
			}
			if !model.IsImplementedStream(st) {
				return usageErr("--streams: unknown or unsupported stream %q (this build supports: %s)", st, strings.Join(model.ImplementedStreams, ", "))
			}
		}
	}
	for name, p := range map[string]struct {
		v   string
		dst *time.Time
	}{"--start-at": {*startAt, &s.StartAt}, "--end-at": {*endAt, &s.EndAt}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, p.v)
		if err != nil {
			return usageErr("%s %q is not an RFC3339 time", name, p.v)
		}
		*p.dst = t.UTC()
	}
	if *routesFile != "" {
		if s.Routes, err = readRoutes(*routesFile); err != nil {
			return usageErr("%v", err)
		}
		for stream := range s.Routes {
			if !slices.Contains(s.Streams, stream) {
				return usageErr("--routes-file routes stream %q, which the connection does not sync", stream)
			}
		}
	}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	if _, err := tc.DescribeWorkflowExecution(e.ctx, model.ConnectionWorkflowID(id), ""); err != nil {
		return notRunning(id, err)
	}
	if err := db.UpdateSettings(e.ctx, id, s); err != nil {
		return err
	}
	if err := tc.SignalWorkflow(e.ctx, model.ConnectionWorkflowID(id), "", model.SignalReload, nil); err != nil {
		return notRunning(id, err)
	}
	if e.jsonOut {
		return e.printJSON(map[string]any{"id": id, "settings": s})
	}
	fmt.Fprintf(e.stdout, "connection %s updated; the schedule applies from now on\n", id)
	return nil
}

func readRoutes(path string) (map[string][]model.Route, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--routes-file: %v", err)
	}
	r, err := routing.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("--routes-file: %v", err)
	}
	return r, nil
}

func notRunning(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return usageErr("connection %q has no running workflow: it was deleted or never created (`starter connection list`)", id)
	}
	return err
}
