package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/routing"
	"github.com/sentinelone-connector/s1conn/store"
)

func (e *env) sync(args []string) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	streams := fs.String("streams", "", "comma-separated subset of the connection's streams")
	full := fs.Bool("full", false, "full walk (also detects removed records)")
	backfill := fs.String("backfill", "", "re-read this far back (threats/alerts), e.g. 30d")
	wait := fs.Bool("wait", false, "wait for the sync to finish, showing progress")
	routeBackfill := fs.Bool("route-backfill", false, "with --backfill: let routes fire for the backfilled records")
	timeout := fs.Duration("timeout", 0, "with --wait: give up after this long (0 = never)")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "sync")
	if err != nil {
		return err
	}
	req := model.SyncRequest{Full: *full, Streams: splitList(*streams), Reason: "starter sync", RouteBackfill: *routeBackfill}
	if *backfill != "" {
		if req.Backfill, err = parseDuration(*backfill); err != nil || req.Backfill == 0 {
			return usageErr("--backfill: %q is not a positive duration like 30d", *backfill)
		}
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	conn, err := db.GetConnection(e.ctx, id)
	if err != nil {
		return usageErr("%v", err)
	}
	if !conn.DeletedAt.IsZero() {
		return usageErr("connection %q is deleted", id)
	}
	for _, s := range req.Streams {
		if !slices.Contains(conn.Settings.Streams, s) {
			return usageErr("--streams: %q is not enabled on connection %s (enabled: %s)", s, id, strings.Join(conn.Settings.Streams, ", "))
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	req.RequestID = hex.EncodeToString(b[:])
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	if err := tc.SignalWorkflow(e.ctx, model.ConnectionWorkflowID(id), "", model.SignalSyncNow, req); err != nil {
		return notRunning(id, err)
	}
	if !*wait {
		if e.jsonOut {
			return e.printJSON(map[string]any{"id": id, "requestId": req.RequestID, "queued": true})
		}
		fmt.Fprintf(e.stdout, "sync of %s requested (request %s); follow it with `starter status %s`\n", id, req.RequestID, id)
		return nil
	}
	return e.waitSync(tc, db, id, req.RequestID, *timeout)
}

// waitSync follows the connection's status until the run serving requestID ends.
func (e *env) waitSync(tc client.Client, db *store.Store, id, requestID string, timeout time.Duration) error {
	ctx := e.ctx
	var deadline <-chan time.Time
	if timeout > 0 {
		deadline = time.After(timeout)
	}
	tty := isTerminal(e.stderr)
	lastLine := ""
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := queryStatus(e, tc, id)
		if err != nil {
			return err
		}
		if st.LastRun != nil && slices.Contains(st.LastRun.RequestIDs, requestID) {
			if tty {
				fmt.Fprint(e.stderr, "\r\033[K")
			}
			return e.reportRun(id, st)
		}
		served := slices.Contains(st.PendingIDs, requestID) || (st.CurrentRun != nil && slices.Contains(st.CurrentRun.RequestIDs, requestID))
		if !served {
			switch st.State {
			case model.StateAuthFailed, model.StateTestFailed, model.StateFailed, model.StateDeleted:
				msg := fmt.Sprintf("connection %s is %s", id, st.State)
				if st.LastError != nil {
					msg += ": " + st.LastError.Message + " — " + st.LastError.Remediation
				}
				code := exitFailed
				if st.State == model.StateAuthFailed {
					code = exitAuthFail
				}
				return &cliError{code: code, msg: msg}
			}
		}
		if !e.jsonOut {
			line := progressLine(ctx, db, id, st)
			if tty {
				fmt.Fprint(e.stderr, "\r\033[K"+line)
			} else if line != lastLine {
				fmt.Fprintln(e.stderr, line)
			}
			lastLine = line
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("gave up waiting after %s; the sync continues (`starter status %s`)", timeout, id)
		case <-tick.C:
		}
	}
}

func progressLine(ctx interface {
	Deadline() (time.Time, bool)
	Done() <-chan struct{}
	Err() error
	Value(any) any
}, db *store.Store, id string, st *model.Status) string {
	if st.CurrentRun == nil {
		return fmt.Sprintf("%s: %s, waiting for the sync to start", id, st.State)
	}
	states, err := db.StreamStates(ctx, id)
	if err != nil {
		return fmt.Sprintf("%s: %s", id, st.State)
	}
	var parts []string
	for _, s := range states {
		base, _, _ := strings.Cut(s.Stream, "@") // backfill windows are "threats@<from>"
		if !slices.Contains(st.CurrentRun.Streams, base) || s.WalkID == "" {
			continue
		}
		pct := ""
		if s.WalkTotal > 0 {
			p := min(100, 100*s.WalkFetched/s.WalkTotal)
			bar := strings.Repeat("█", int(p/5)) + strings.Repeat("░", 20-int(p/5))
			eta := ""
			if el := time.Since(s.WalkStartedAt); s.WalkFetched > 0 && p < 100 {
				rem := time.Duration(float64(el) * float64(s.WalkTotal-s.WalkFetched) / float64(s.WalkFetched))
				eta = " ETA " + rem.Round(time.Second).String()
			}
			pct = fmt.Sprintf(" %s %3d%%%s", bar, p, eta)
		}
		parts = append(parts, fmt.Sprintf("%s %d/%d%s", s.Stream, s.WalkFetched, s.WalkTotal, pct))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s: sync %d (%s) starting", id, st.CurrentRun.Seq, st.CurrentRun.Mode)
	}
	return fmt.Sprintf("%s: sync %d (%s) %s", id, st.CurrentRun.Seq, st.CurrentRun.Mode, strings.Join(parts, " | "))
}

func (e *env) reportRun(id string, st *model.Status) error {
	r := st.LastRun
	if e.jsonOut {
		if err := e.printJSON(r); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "sync %d of %s: %s (%s, %s)\n", r.Seq, id, r.Status, r.Mode, r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
		tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "STREAM\tPAGES\tFETCHED\tINSERTED\tUPDATED\tUNCHANGED\tREMOVED\tERROR")
		for _, s := range r.Streams {
			msg := ""
			if s.Error != nil {
				msg = s.Error.Message
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Stream, s.Pages, s.Fetched, s.Inserted, s.Updated, s.Unchanged, s.Removed, msg)
		}
		_ = tw.Flush()
	}
	switch r.Status {
	case model.RunSuccess:
		return nil
	case model.RunAuthFailed:
		msg := "the console rejected the token"
		if r.Error != nil {
			msg = r.Error.Message + " — " + r.Error.Remediation
		}
		return &cliError{code: exitAuthFail, msg: msg}
	}
	msg := "sync " + r.Status
	if r.Error != nil {
		msg += ": " + r.Error.Message + " — " + r.Error.Remediation
	}
	return &cliError{code: exitFailed, msg: msg}
}

func queryStatus(e *env, tc client.Client, id string) (*model.Status, error) {
	v, err := tc.QueryWorkflow(e.ctx, model.ConnectionWorkflowID(id), "", model.QueryStatus)
	if err != nil {
		return nil, notRunning(id, err)
	}
	var st model.Status
	if err := v.Get(&st); err != nil {
		return nil, fmt.Errorf("decoding status: %w", err)
	}
	return &st, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (e *env) rotate(args []string) error {
	fs := flag.NewFlagSet("rotate-token", flag.ContinueOnError)
	tokenFile := fs.String("token-file", "", "file holding the new API token, or - for stdin")
	tokenEnv := fs.String("token-env", "", "environment variable holding the new API token")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "rotate-token")
	if err != nil {
		return err
	}
	tok, err := e.readToken(*tokenFile, *tokenEnv)
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
	conn, err := db.GetConnection(e.ctx, id)
	if err != nil {
		return usageErr("%v", err)
	}
	if !conn.DeletedAt.IsZero() {
		return usageErr("connection %q is deleted", id)
	}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	sealed, err := keys.Seal([]byte(tok), id)
	if err != nil {
		return err
	}
	fp := codec.Fingerprint(tok)
	if err := db.SetPendingToken(e.ctx, id, sealed, fp); err != nil {
		return err
	}
	h, err := tc.UpdateWorkflow(e.ctx, client.UpdateWorkflowOptions{WorkflowID: model.ConnectionWorkflowID(id),
		UpdateName: model.UpdateRotateToken, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{model.RotateTokenRequest{Fingerprint: fp}}})
	if err != nil {
		return rotateErr(id, err)
	}
	var res model.RotateTokenResult
	if err := h.Get(e.ctx, &res); err != nil {
		return rotateErr(id, err)
	}
	if e.jsonOut {
		return e.printJSON(res)
	}
	exp := "no expiry reported"
	if !res.TokenExpiresAt.IsZero() {
		exp = "expires " + res.TokenExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(e.stdout, "token of %s rotated to %s (%s); the old token is no longer used\n", id, fp, exp)
	return nil
}

func rotateErr(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return notRunning(id, err)
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == model.ErrTypeRejected {
		return &cliError{code: exitTestFail, msg: "token rejected, nothing changed: " + app.Message()}
	}
	return fmt.Errorf("rotating the token of %s did not complete (run it again): %w", id, err)
}

func (e *env) status(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "status")
	if err != nil {
		return err
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	conn, err := db.GetConnection(e.ctx, id)
	if err != nil {
		return usageErr("%v", err)
	}
	counts, err := db.CountRecords(e.ctx, id)
	if err != nil {
		return err
	}
	states, err := db.StreamStates(e.ctx, id)
	if err != nil {
		return err
	}
	held, err := db.QuarantineCounts(e.ctx, id)
	if err != nil {
		return err
	}
	var wf *model.Status
	var wfErr string
	if conn.DeletedAt.IsZero() {
		if tc, err := e.temporal(); err == nil {
			if wf, err = queryStatus(e, tc, id); err != nil {
				wfErr = err.Error()
			}
		} else {
			wfErr = err.Error()
		}
	}
	state := conn.State
	if wf != nil {
		state = wf.State
	}
	type streamOut struct {
		Stream  string `json:"stream"`
		Total   int64  `json:"total"`
		Active  int64  `json:"active"`
		Removed int64  `json:"removed"`
		// Quarantined: received but unreadable by this version, kept as received.
		Quarantined int64      `json:"quarantined,omitempty"`
		Watermark   *time.Time `json:"watermark,omitempty"`
		LastFullAt  *time.Time `json:"lastFullAt,omitempty"`
		Walk        any        `json:"walk,omitempty"`
	}
	out := struct {
		ID               string             `json:"id"`
		State            model.State        `json:"state"`
		ConsoleURL       string             `json:"consoleUrl"`
		TokenFingerprint string             `json:"tokenFingerprint"`
		TokenExpiresAt   *time.Time         `json:"tokenExpiresAt,omitempty"`
		Streams          []streamOut        `json:"streams"`
		Counts           map[string]int64   `json:"counts"`
		Workflow         *model.Status      `json:"workflow,omitempty"`
		WorkflowError    string             `json:"workflowError,omitempty"`
		LastError        *model.ErrorInfo   `json:"lastError,omitempty"`
		Backfill         []map[string]any   `json:"backfillInProgress,omitempty"`
		Routes           []store.RouteCount `json:"routes,omitempty"`
		DeadLetters      []map[string]any   `json:"deadLetters,omitempty"`
	}{ID: id, State: state, ConsoleURL: conn.ConsoleURL, TokenFingerprint: conn.TokenFingerprint, Workflow: wf,
		WorkflowError: wfErr, LastError: conn.LastError, Counts: map[string]int64{}}
	if wf != nil {
		out.LastError = wf.LastError
	}
	if t := conn.TokenExpiresAt; !t.IsZero() {
		out.TokenExpiresAt = &t
	}
	for _, c := range counts {
		if !slices.Contains(conn.Settings.Streams, c.Stream) && c.Total == 0 {
			continue
		}
		so := streamOut{Stream: c.Stream, Total: c.Total, Active: c.Active, Removed: c.Removed, Quarantined: held[c.Stream]}
		for _, s := range states {
			if s.Stream != c.Stream {
				continue
			}
			if !s.Watermark.IsZero() {
				t := s.Watermark
				so.Watermark = &t
			}
			if !s.LastFullAt.IsZero() {
				t := s.LastFullAt
				so.LastFullAt = &t
			}
			if s.WalkID != "" {
				so.Walk = map[string]any{"id": s.WalkID, "mode": s.WalkMode, "pages": s.WalkPages, "fetched": s.WalkFetched, "totalItems": s.WalkTotal}
			}
		}
		out.Streams = append(out.Streams, so)
		out.Counts[c.Stream] = c.Active
	}
	if out.Routes, err = db.OutboxCounts(e.ctx, id); err != nil {
		return err
	}
	if out.DeadLetters, err = db.DeadLetters(e.ctx, id, 20); err != nil {
		return err
	}
	for _, s := range states {
		if i := strings.Index(s.Stream, "@"); i > 0 && s.WalkID != "" {
			out.Backfill = append(out.Backfill, map[string]any{"stream": s.Stream[:i], "window": s.Stream[i+1:],
				"pages": s.WalkPages, "fetched": s.WalkFetched, "totalItems": s.WalkTotal})
		}
	}
	if e.jsonOut {
		return e.printJSON(out)
	}
	w := e.stdout
	fmt.Fprintf(w, "connection %s  state %s  console %s  token %s", id, state, conn.ConsoleURL, conn.TokenFingerprint)
	if out.TokenExpiresAt != nil {
		fmt.Fprintf(w, " (expires %s, in %d days)", out.TokenExpiresAt.Format("2006-01-02"), int(time.Until(*out.TokenExpiresAt).Hours()/24))
	}
	fmt.Fprintln(w)
	if wf != nil {
		if wf.CurrentRun != nil {
			fmt.Fprintf(w, "running: sync %d (%s) since %s\n", wf.CurrentRun.Seq, wf.CurrentRun.Mode, wf.CurrentRun.StartedAt.Format(time.RFC3339))
		}
		if wf.LastRun != nil {
			fmt.Fprintf(w, "last sync: %d %s at %s\n", wf.LastRun.Seq, wf.LastRun.Status, wf.LastRun.FinishedAt.Format(time.RFC3339))
		}
		if !wf.NextRunAt.IsZero() {
			fmt.Fprintf(w, "next run: %s\n", wf.NextRunAt.Format(time.RFC3339))
		}
	} else if wfErr != "" {
		fmt.Fprintf(w, "workflow: unavailable (%s)\n", wfErr)
	}
	if out.LastError != nil {
		fmt.Fprintf(w, "last error: %s\n  → %s\n", out.LastError.Message, out.LastError.Remediation)
	}
	for _, b := range out.Backfill {
		fmt.Fprintf(w, "backfill %s window %s: %v/%v records, %v pages\n", b["stream"], b["window"], b["fetched"], b["totalItems"], b["pages"])
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tACTIVE\tREMOVED\tWATERMARK\tLAST FULL\tWALK")
	for _, s := range out.Streams {
		wm, lf, walk := "-", "-", "-"
		if s.Watermark != nil {
			wm = s.Watermark.Format(time.RFC3339)
		}
		if s.LastFullAt != nil {
			lf = s.LastFullAt.Format(time.RFC3339)
		}
		if s.Walk != nil {
			b, _ := json.Marshal(s.Walk)
			walk = string(b)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", s.Stream, s.Active, s.Removed, wm, lf, walk)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range out.Streams {
		if s.Quarantined > 0 {
			fmt.Fprintf(w, "quarantined %s: %d records the console sent that this version cannot read, kept as received — see `starter export %s --stream %s --quarantine`; a later sync that reads them clears them\n",
				s.Stream, s.Quarantined, id, s.Stream)
		}
	}
	if len(out.Routes) > 0 {
		rw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(rw, "ROUTE\tDELIVERED\tPENDING\tDEAD-LETTERED")
		for _, r := range out.Routes {
			fmt.Fprintf(rw, "%s\t%d\t%d\t%d\n", r.RouteID, r.Delivered, r.Pending, r.Dead)
		}
		if err := rw.Flush(); err != nil {
			return err
		}
		for _, d := range out.DeadLetters {
			fmt.Fprintf(w, "dead letter %v: route %v record %v (%v, %v attempts): %v\n", d["id"], d["route_id"], d["record_key"], d["trigger"], d["attempts"], d["last_error"])
		}
	}
	return nil
}

// routes handles `starter routes replay ID --since D [--stream S] [--route NAME]`.
func (e *env) routes(args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		return usageErr("routes needs a subcommand: replay")
	}
	fs := flag.NewFlagSet("routes replay", flag.ContinueOnError)
	since := fs.String("since", "", "re-deliver records changed at the console this recently (e.g. 24h, 7d) or since an RFC3339 time")
	stream := fs.String("stream", "", "only this stream (default: every routed stream)")
	only := fs.String("route", "", "only this route ID (e.g. threats/triage)")
	pos, err := e.parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	id, err := oneID(pos, "routes replay")
	if err != nil {
		return err
	}
	if *since == "" {
		return usageErr("routes replay needs --since (e.g. 24h or 2026-01-02T00:00:00Z)")
	}
	from, err := time.Parse(time.RFC3339, *since)
	if err != nil {
		d, derr := parseDuration(*since)
		if derr != nil {
			return usageErr("--since %q is neither a duration like 24h nor an RFC3339 time", *since)
		}
		from = time.Now().Add(-d)
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	conn, err := db.GetConnection(e.ctx, id)
	if err != nil {
		return usageErr("%v", err)
	}
	var total int64
	matched := false
	var streams []string
	for s := range conn.Settings.Routes {
		streams = append(streams, s)
	}
	slices.Sort(streams)
	for _, s := range streams {
		if *stream != "" && s != *stream {
			continue
		}
		var ids []string
		for i, r := range conn.Settings.Routes[s] {
			rid := routing.ID(s, i, r)
			if *only == "" || rid == *only {
				ids = append(ids, rid)
			}
		}
		if len(ids) == 0 {
			continue
		}
		matched = true
		n, err := db.Replay(e.ctx, id, s, ids, from)
		if err != nil {
			return err
		}
		total += n
	}
	if !matched {
		return usageErr("connection %s has no route matching --stream %q --route %q", id, *stream, *only)
	}
	tc, err := e.temporal()
	if err != nil {
		return err
	}
	// A sync drains the outbox; ask for a delta now.
	if err := tc.SignalWorkflow(e.ctx, model.ConnectionWorkflowID(id), "", model.SignalSyncNow, model.SyncRequest{Reason: "routes replay"}); err != nil {
		return notRunning(id, err)
	}
	if e.jsonOut {
		return e.printJSON(map[string]any{"id": id, "queued": total})
	}
	fmt.Fprintf(e.stdout, "queued %d deliveries for re-delivery; they go out with the sync just requested\n", total)
	return nil
}

func (e *env) export(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	stream := fs.String("stream", "", "stream to export")
	format := fs.String("format", "ocsf", "ocsf, raw or flat")
	quarantined := fs.Bool("quarantine", false, "export the stream's quarantined records (received but unreadable by this version) instead: with --format raw exactly as received, otherwise one JSON object each with key, error, first/last seen and raw")
	pos, err := e.parseArgs(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID(pos, "export")
	if err != nil {
		return err
	}
	if *stream == "" {
		return usageErr("export needs --stream (one of %s)", strings.Join(model.ImplementedStreams, ", "))
	}
	if _, ok := store.TableFor(*stream); !ok {
		return usageErr("--stream: unknown stream %q (this build stores: %s)", *stream, strings.Join(model.ImplementedStreams, ", "))
	}
	switch *format {
	case "ocsf", "raw", "flat":
	default:
		return usageErr("--format %q: use ocsf, raw or flat", *format)
	}
	db, err := e.db()
	if err != nil {
		return err
	}
	if _, err := db.GetConnection(e.ctx, id); err != nil {
		return usageErr("%v", err)
	}
	bw := bufio.NewWriterSize(e.stdout, 1<<16)
	if *quarantined {
		return exportQuarantine(e, db, bw, id, *stream, *format == "raw")
	}
	err = db.EachRecord(e.ctx, id, *stream, func(r *store.StoredRecord) error {
		var line []byte
		switch *format {
		case "raw":
			line = compact(r.Raw)
		case "ocsf":
			line = compact(r.OCSF)
		case "flat":
			m := r.Flat
			m["record_key"] = r.Key
			m["first_seen_at"] = r.FirstSeen
			m["last_seen_at"] = r.LastSeen
			if !r.RemovedAt.IsZero() {
				m["removed_at"] = r.RemovedAt
			} else {
				m["removed_at"] = nil
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			line = b
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		return bw.WriteByte('\n')
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// exportQuarantine writes a stream's quarantined records as NDJSON.
func exportQuarantine(e *env, db *store.Store, bw *bufio.Writer, id, stream string, raw bool) error {
	recs, err := db.QuarantinedRecords(e.ctx, id, stream)
	if err != nil {
		return err
	}
	for _, q := range recs {
		line := q.Raw
		if !raw {
			var rawField any = string(q.Raw) // not JSON at all: kept as a string
			if json.Valid(q.Raw) {
				rawField = json.RawMessage(compact(q.Raw))
			}
			if line, err = json.Marshal(map[string]any{"stream": q.Stream, "key": q.Key, "error": q.Error,
				"firstSeenAt": q.FirstSeen, "lastSeenAt": q.LastSeen, "raw": rawField}); err != nil {
				return err
			}
		}
		if _, err := bw.Write(line); err != nil {
			return err
		}
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
	}
	return bw.Flush()
}
