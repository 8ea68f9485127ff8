package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
)

// Typed search attributes the Web UI and `temporal workflow list --query` filter on.
var (
	SAConnectorState = temporal.NewSearchAttributeKeyKeyword(model.SearchAttrState)
	SAConnectionID   = temporal.NewSearchAttributeKeyKeyword(model.SearchAttrConnectionID)
	SALastSyncStatus = temporal.NewSearchAttributeKeyKeyword(model.SearchAttrLastSyncStatus)
	SATokenExpiresAt = temporal.NewSearchAttributeKeyTime(model.SearchAttrTokenExpiresAt)
)

// DefaultSyncsBeforeContinueAsNew bounds a ConnectionWorkflow run's history.
const DefaultSyncsBeforeContinueAsNew = 100

// runCanceled is the LastRun status of a sync cancelled by pause or delete (resumed later).
const runCanceled = "canceled"

type connection struct {
	st       model.ConnectionWorkflowInput
	spec     model.ScheduleSpec
	running  *model.RunProgress
	next     time.Time
	paused   bool
	deleteRq *model.DeleteRequest
	reload   bool
	rotated  bool
	resume   int64 // a sync to re-run with the same seq (its walks resume from their checkpoints)
	startSeq int64

	syncNow, pause, resumeCh, del, reloadCh workflow.ReceiveChannel
	wake                                    workflow.Channel
}

// ConnectionWorkflow owns a connection's lifecycle: test, schedule, syncs (as SyncWorkflow
// children, never two at once), pause/resume/delete, token rotation, status.
func ConnectionWorkflow(ctx workflow.Context, in model.ConnectionWorkflowInput) (*model.Empty, error) {
	c := &connection{st: in, startSeq: in.Seq, paused: in.State == model.StatePaused, rotated: in.Rotated}
	// FIX (found by TestContinueAsNewKeepsResumeSeq): c.resume is not part of the
	// continue-as-new input, so a sync that ended AuthFailed (or was cancelled by pause) right
	// before continue-as-new was re-run under a NEW seq after the rotation/resume, restarting its
	// walks instead of resuming them. LastRun carries what is needed to recover it.
	if in.LastRun != nil && in.LastRun.Seq == in.Seq && (in.LastRun.Status == model.RunAuthFailed || in.LastRun.Status == runCanceled) {
		c.resume = in.LastRun.Seq
	}
	if c.st.Config != nil {
		c.spec = *c.st.Config
	}
	c.syncNow = workflow.GetSignalChannel(ctx, model.SignalSyncNow)
	c.pause = workflow.GetSignalChannel(ctx, model.SignalPause)
	c.resumeCh = workflow.GetSignalChannel(ctx, model.SignalResume)
	c.del = workflow.GetSignalChannel(ctx, model.SignalDelete)
	c.reloadCh = workflow.GetSignalChannel(ctx, model.SignalReload)
	c.wake = workflow.NewBufferedChannel(ctx, 1)
	if err := workflow.SetQueryHandler(ctx, model.QueryStatus, c.status); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, model.UpdateRotateToken, c.rotateToken,
		workflow.UpdateHandlerOptions{Validator: c.validateRotate}); err != nil {
		return nil, err
	}
	return c.run(ctx)
}

func (c *connection) run(ctx workflow.Context) (*model.Empty, error) {
	if c.st.State == "" {
		c.setState(ctx, model.StateRegistered)
	}
	if c.st.Config == nil || c.st.State == model.StateRegistered {
		if err := c.loadConfig(ctx); err != nil {
			return nil, err
		}
	}
	if c.st.State == model.StateRegistered {
		c.test(ctx)
	}
	for {
		c.drainSignals(ctx)
		if c.deleteRq != nil {
			return c.delete(ctx)
		}
		if c.reload {
			c.reload = false
			if err := c.loadConfig(ctx); err != nil {
				var app *temporal.ApplicationError
				if errors.As(err, &app) && app.Type() == model.ErrTypeNotFound {
					return nil, err
				}
				// The store is unreachable: keep the current schedule and try again later.
				c.st.LastError = errorInfo(ctx, "", err)
				c.reload = true
				c.waitEvent(ctx, workflow.Now(ctx).Add(RetestEvery))
				continue
			}
		}
		// Idle loops (re-tests, waits) grow history too: continue-as-new whenever it is due.
		if c.historyTooLong(ctx) {
			if done, err := c.continueAsNew(ctx); done {
				return nil, err
			}
			continue
		}
		if c.paused {
			if c.st.State != model.StatePaused {
				c.st.PausedFrom = c.st.State
				c.setState(ctx, model.StatePaused)
			}
			c.waitEvent(ctx, time.Time{})
			continue
		}
		switch c.st.State {
		case model.StatePaused:
			// Resume returns to a state that needs a human; anything else is ready to schedule.
			switch c.st.PausedFrom {
			case model.StateAuthFailed, model.StateTestFailed, model.StateFailed:
				c.setState(ctx, c.st.PausedFrom)
			default:
				c.setState(ctx, model.StateScheduled)
			}
			c.st.PausedFrom = ""
			continue
		case model.StateTestFailed, model.StateFailed:
			if len(c.st.Pending) == 0 && !c.rotated {
				// A failed test is retried on its own every RetestEvery (the console may have
				// been briefly unreachable); a Failed connection waits for a human.
				var deadline time.Time
				if c.st.State == model.StateTestFailed {
					deadline = workflow.Now(ctx).Add(RetestEvery)
				}
				if !c.waitEvent(ctx, deadline) {
					continue
				}
			}
			c.rotated = false
			if !c.test(ctx) {
				c.st.Pending = nil // the failed test answered the request
				continue
			}
		case model.StateAuthFailed:
			if !c.rotated {
				c.st.Pending = nil // syncing cannot work until the token is rotated
				c.waitEvent(ctx, time.Time{})
				continue
			}
			c.rotated = false
			c.setState(ctx, model.StateScheduled)
		}
		now := workflow.Now(ctx)
		c.next = c.nextRun(now)
		due := !c.next.IsZero() && !c.next.After(now)
		if len(c.st.Pending) == 0 && c.resume == 0 && !due {
			c.waitEvent(ctx, c.next)
			continue
		}
		req, ids := c.takeRequest(due)
		if due {
			c.st.LastScheduled = now // every slot missed until now coalesces into this one run
		}
		c.sync(ctx, req, ids)
		if c.deleteRq != nil {
			continue
		}
		if c.shouldContinueAsNew(ctx) {
			if done, err := c.continueAsNew(ctx); done {
				return nil, err
			}
		}
	}
}

// historyTooLong reports whether the server suggests continue-as-new or the run's history is
// long (a connection that waits and re-tests for weeks writes events without syncing).
func (c *connection) historyTooLong(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > maxHistoryEvents
}

// maxHistoryEvents bounds a ConnectionWorkflow run's history well under Temporal's limits.
const maxHistoryEvents = 10000

// continueAsNew drains signals, waits for handlers, and continues as new with the whole state.
// done is false when a delete arrived meanwhile (the loop handles it).
func (c *connection) continueAsNew(ctx workflow.Context) (done bool, err error) {
	c.drainSignals(ctx)
	if c.deleteRq != nil {
		return false, nil
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return true, err
	}
	c.drainSignals(ctx)
	if c.deleteRq != nil {
		return false, nil
	}
	if c.reload {
		c.reload = false
		if err := c.loadConfig(ctx); err != nil {
			return true, err
		}
	}
	workflow.GetLogger(ctx).Info("continuing as new", "seq", c.st.Seq)
	if c.paused && c.st.State != model.StatePaused {
		c.st.PausedFrom = c.st.State
		c.st.State = model.StatePaused
	}
	c.st.Rotated = c.rotated
	cfg := c.spec
	c.st.Config = &cfg
	return true, workflow.NewContinueAsNewError(ctx, model.ConnectionWorkflowName, c.st)
}

func (c *connection) shouldContinueAsNew(ctx workflow.Context) bool {
	k := int64(DefaultSyncsBeforeContinueAsNew)
	if c.st.Testing != nil && c.st.Testing.SyncsBeforeContinueAsNew > 0 {
		k = int64(c.st.Testing.SyncsBeforeContinueAsNew)
	}
	return c.st.Seq-c.startSeq >= k || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// takeRequest merges every pending sync-now (and a due scheduled run) into one sync request.
func (c *connection) takeRequest(due bool) (model.SyncRequest, []string) {
	var req model.SyncRequest
	var ids []string
	all := due || len(c.st.Pending) == 0
	for _, p := range c.st.Pending {
		if p.RequestID != "" {
			ids = append(ids, p.RequestID)
		}
		req.Full = req.Full || p.Full
		req.RouteBackfill = req.RouteBackfill || p.RouteBackfill
		if p.Backfill > req.Backfill {
			req.Backfill = p.Backfill
		}
		if len(p.Streams) == 0 {
			all = true
		}
		req.Streams = union(req.Streams, p.Streams)
	}
	if all {
		req.Streams = nil
	}
	c.st.Pending = nil
	return req, ids
}

func union(a, b []string) []string {
	for _, x := range b {
		found := false
		for _, y := range a {
			if x == y {
				found = true
			}
		}
		if !found {
			a = append(a, x)
		}
	}
	return a
}

// sync runs one SyncWorkflow child and applies its outcome.
func (c *connection) sync(ctx workflow.Context, req model.SyncRequest, ids []string) {
	log := workflow.GetLogger(ctx)
	now := workflow.Now(ctx)
	seq := c.resume
	if seq == 0 {
		c.st.Seq++
		seq = c.st.Seq
	}
	streams := req.Streams
	if len(streams) == 0 {
		streams = c.spec.Streams
	} else if c.resume != 0 {
		streams = union(append([]string(nil), c.st.ResumeStreams...), streams) // finish the interrupted walks too
	}
	gen := c.st.TokenGen
	mode := model.ModeDelta
	if req.Full || c.st.LastFullAt.IsZero() || (c.spec.ReconcileEvery > 0 && now.Sub(c.st.LastFullAt) >= c.spec.ReconcileEvery) {
		mode = model.ModeFull
	}
	if c.resume != 0 && c.st.LastRun != nil && c.st.LastRun.Seq == seq && c.st.LastRun.Mode != "" {
		mode = c.st.LastRun.Mode // a resumed sync keeps its walks' mode
	}
	in := model.SyncWorkflowInput{ConnectionID: c.st.ConnectionID, Seq: seq, Streams: streams, Mode: mode, Backfill: req.Backfill, RouteBackfill: req.RouteBackfill, Concurrency: c.spec.Concurrency,
		HeartbeatTimeout: c.spec.HeartbeatTimeout}
	wid := model.SyncWorkflowID(c.st.ConnectionID, seq)
	c.running = &model.RunProgress{Seq: seq, WorkflowID: wid, StartedAt: now.UTC(), Mode: mode, Streams: streams, RequestIDs: ids}
	defer func() {
		if c.st.LastRun != nil {
			c.st.LastRun.RequestIDs = ids
		}
	}()
	c.setState(ctx, model.StateProcessing)
	cctx, cancel := workflow.WithCancel(ctx)
	cctx = workflow.WithChildOptions(cctx, workflow.ChildWorkflowOptions{
		WorkflowID:            wid,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_TERMINATE,
		WorkflowRunTimeout:    48 * time.Hour,
	})
	fut := workflow.ExecuteChildWorkflow(cctx, model.SyncWorkflowName, in)
	done := false
	var res model.SyncWorkflowResult
	var err error
	canceled := false
	for !done {
		s := workflow.NewSelector(ctx)
		s.AddFuture(fut, func(f workflow.Future) { done = true; err = f.Get(ctx, &res) })
		c.addSignals(ctx, s)
		s.Select(ctx)
		if !done && !canceled && (c.paused || c.deleteRq != nil) {
			log.Info("cancelling the running sync", "seq", seq, "paused", c.paused, "delete", c.deleteRq != nil)
			cancel()
			canceled = true
		}
	}
	c.running = nil
	var ce *temporal.CanceledError
	switch {
	case canceled || errors.As(err, &ce):
		c.resume = seq // resumed later with the same walks
		c.st.ResumeStreams = streams
		c.st.LastRun = &model.RunSummary{Seq: seq, WorkflowID: wid, StartedAt: now.UTC(), FinishedAt: workflow.Now(ctx).UTC(),
			Status: runCanceled, Mode: mode}
		c.upsertLastStatus(ctx, runCanceled)
		return
	case err != nil:
		c.resume, c.st.ResumeStreams = 0, nil
		c.st.LastError = &model.ErrorInfo{At: workflow.Now(ctx).UTC(), Type: "SyncFailed", Message: err.Error(), Remediation: remediation("")}
		c.st.LastRun = &model.RunSummary{Seq: seq, WorkflowID: wid, StartedAt: now.UTC(), FinishedAt: workflow.Now(ctx).UTC(),
			Status: model.RunFailed, Mode: mode, Error: c.st.LastError}
		c.upsertLastStatus(ctx, model.RunFailed)
		c.setState(ctx, model.StateProcessed)
		return
	}
	sum := res.Summary
	c.st.LastRun = &sum
	c.upsertLastStatus(ctx, sum.Status)
	switch sum.Status {
	case model.RunAuthFailed:
		c.resume = seq
		c.st.ResumeStreams = streams
		if c.st.TokenGen != gen {
			c.rotated = true // the token was replaced while this sync ran: retry with the new one
		}
		c.st.LastError = sum.Error
		c.setState(ctx, model.StateAuthFailed)
		return
	case model.RunFailed:
		c.resume, c.st.ResumeStreams = 0, nil
		c.st.LastError = sum.Error
		if sum.Error != nil && (sum.Error.Type == model.ErrTypeConfig || sum.Error.Type == model.ErrTypeNotFound || sum.Error.Type == model.ErrTypePermission) {
			c.setState(ctx, model.StateFailed)
			return
		}
	default:
		c.resume, c.st.ResumeStreams = 0, nil
		c.st.LastError = sum.Error
		if mode == model.ModeFull && sum.Status == model.RunSuccess && len(streams) == len(c.spec.Streams) {
			c.st.LastFullAt = sum.StartedAt
		}
	}
	c.setState(ctx, model.StateProcessed)
}

func (c *connection) upsertLastStatus(ctx workflow.Context, status string) {
	_ = workflow.UpsertTypedSearchAttributes(ctx, SALastSyncStatus.ValueSet(status))
}

// test runs the connection checks; it returns whether they passed.
func (c *connection) test(ctx workflow.Context) bool {
	gen := c.st.TokenGen
	c.setState(ctx, model.StateTesting)
	var res model.CheckConnectionResult
	actx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	err := workflow.ExecuteActivity(actx, model.ActivityCheckConnection, model.CheckConnectionInput{ConnectionID: c.st.ConnectionID}).Get(ctx, &res)
	if err != nil {
		c.st.LastError = errorInfo(ctx, "", err)
		c.setState(ctx, model.StateTestFailed)
		return false
	}
	c.st.Checks = res.Checks
	if !res.TokenExpiresAt.IsZero() {
		c.st.TokenExpiresAt = res.TokenExpiresAt
		_ = workflow.UpsertTypedSearchAttributes(ctx, SATokenExpiresAt.ValueSet(res.TokenExpiresAt))
	}
	if !res.OK {
		c.st.LastError = res.Error
		if c.st.TokenGen != gen {
			c.rotated = true // a new token arrived while the old one was being tested: test again
		}
		if res.Error != nil && res.Error.Type == model.ErrTypeAuth {
			c.setState(ctx, model.StateAuthFailed)
		} else {
			c.setState(ctx, model.StateTestFailed)
		}
		return false
	}
	c.st.LastError = nil
	c.setState(ctx, model.StateScheduled)
	return true
}

func (c *connection) loadConfig(ctx workflow.Context) error {
	var res model.LoadConnectionResult
	actx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	if err := workflow.ExecuteActivity(actx, model.ActivityLoadConnection, model.LoadConnectionInput{ConnectionID: c.st.ConnectionID}).Get(ctx, &res); err != nil {
		return err
	}
	if !res.Exists {
		c.st.LastError = &model.ErrorInfo{At: workflow.Now(ctx).UTC(), Type: model.ErrTypeNotFound,
			Message: "the connection is not in the store", Remediation: "create it with `starter connection create`; this workflow ends"}
		c.setState(ctx, model.StateFailed)
		return temporal.NewNonRetryableApplicationError("connection "+c.st.ConnectionID+" is not in the store", model.ErrTypeNotFound, nil)
	}
	c.spec = res.Schedule
	cfg := c.spec
	c.st.Config = &cfg
	return nil
}

func (c *connection) delete(ctx workflow.Context) (*model.Empty, error) {
	actx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	if err := workflow.ExecuteActivity(actx, model.ActivityPurge, model.PurgeInput{ConnectionID: c.st.ConnectionID, Purge: c.deleteRq.Purge}).Get(ctx, nil); err != nil {
		return nil, err
	}
	c.st.State = model.StateDeleted
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAConnectorState.ValueSet(string(model.StateDeleted)))
	workflow.GetLogger(ctx).Info("connection deleted", "purge", c.deleteRq.Purge)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return nil, err
	}
	return &model.Empty{}, nil
}

// setState records a transition: workflow state, search attribute, store mirror, log.
func (c *connection) setState(ctx workflow.Context, s model.State) {
	prev := c.st.State
	c.st.State = s
	workflow.GetLogger(ctx).Info("connection state", "from", string(prev), "to", string(s))
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAConnectorState.ValueSet(string(s)), SAConnectionID.ValueSet(c.st.ConnectionID))
	actx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	_ = workflow.ExecuteActivity(actx, model.ActivitySetState, model.SetStateInput{ConnectionID: c.st.ConnectionID, State: s,
		LastError: c.st.LastError, TokenExpires: c.st.TokenExpiresAt}).Get(ctx, nil)
}

// waitEvent blocks until a signal, an update's wake-up, or the deadline (zero = none); it
// reports whether the deadline passed.
func (c *connection) waitEvent(ctx workflow.Context, deadline time.Time) (timedOut bool) {
	s := workflow.NewSelector(ctx)
	c.addSignals(ctx, s)
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	if !deadline.IsZero() {
		d := deadline.Sub(workflow.Now(ctx))
		if d <= 0 {
			return true
		}
		s.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { timedOut = true })
	}
	s.Select(ctx)
	return timedOut
}

// RetestEvery is how often a connection in TestFailed re-runs its checks by itself.
const RetestEvery = 5 * time.Minute

func (c *connection) addSignals(ctx workflow.Context, s workflow.Selector) {
	s.AddReceive(c.syncNow, func(ch workflow.ReceiveChannel, _ bool) {
		var r model.SyncRequest
		ch.Receive(ctx, &r)
		c.st.Pending = append(c.st.Pending, r)
	})
	s.AddReceive(c.pause, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil); c.paused = true })
	s.AddReceive(c.resumeCh, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil); c.paused = false })
	s.AddReceive(c.del, func(ch workflow.ReceiveChannel, _ bool) {
		var r model.DeleteRequest
		ch.Receive(ctx, &r)
		c.deleteRq = &r
	})
	s.AddReceive(c.reloadCh, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil); c.reload = true })
	s.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
}

// drainSignals applies every signal already delivered without blocking.
func (c *connection) drainSignals(ctx workflow.Context) {
	for {
		s := workflow.NewSelector(ctx)
		c.addSignals(ctx, s)
		got := false
		s.AddDefault(func() {})
		for _, ch := range []workflow.ReceiveChannel{c.syncNow, c.pause, c.resumeCh, c.del, c.reloadCh, c.wake} {
			if ch.Len() > 0 {
				got = true
			}
		}
		if !got {
			return
		}
		s.Select(ctx)
	}
}

// nextRun is the next scheduled instant after the last scheduled run (zero when none).
// The first run happens as soon as the connection passes its test (or at StartAt).
func (c *connection) nextRun(now time.Time) time.Time {
	next, err := NextRun(c.spec, c.st.LastScheduled, now)
	if err != nil {
		return time.Time{}
	}
	return next
}

// NextRun computes the next run of a schedule after last (zero last = the first run).
// Interval schedules ("90m", "1h", "24h") run every interval; cron schedules ("0 2 * * *",
// "@daily") run at their instants in the schedule's timezone. StartAt delays the first run;
// after EndAt nothing is scheduled (zero time), though sync-now still works.
func NextRun(spec model.ScheduleSpec, last, now time.Time) (time.Time, error) {
	var next time.Time
	if d, err := time.ParseDuration(spec.Schedule); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("schedule interval %s must be positive", spec.Schedule)
		}
		if last.IsZero() {
			next = now
		} else {
			next = last.Add(d)
		}
		if next.Before(spec.StartAt) {
			next = spec.StartAt
		}
	} else {
		sched, err := ParseCron(spec.Schedule, spec.Timezone)
		if err != nil {
			return time.Time{}, err
		}
		switch {
		case last.IsZero() && (spec.StartAt.IsZero() || !now.Before(spec.StartAt)):
			next = now
		case last.IsZero():
			next = sched.Next(spec.StartAt.Add(-time.Second))
		default:
			next = sched.Next(last)
		}
	}
	if !spec.EndAt.IsZero() && next.After(spec.EndAt) {
		return time.Time{}, nil
	}
	return next, nil
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a five-field cron expression or descriptor (@daily, @hourly, @every 2h)
// evaluated in the IANA timezone tz (default UTC).
func ParseCron(expr, tz string) (cron.Schedule, error) {
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown timezone %q: use an IANA name such as Europe/Paris or America/New_York", tz)
	}
	if strings.HasPrefix(strings.TrimSpace(expr), "CRON_TZ=") || strings.HasPrefix(strings.TrimSpace(expr), "TZ=") {
		return nil, fmt.Errorf("schedule %q: set the timezone with --timezone, not inside the expression", expr)
	}
	s, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q is neither an interval (e.g. 1h, 30m) nor a cron expression (e.g. \"0 2 * * *\", @daily): %v", expr, err)
	}
	if spec, ok := s.(*cron.SpecSchedule); ok && spec.Hour&cronStarBit == 0 {
		return dstSchedule{spec}, nil
	}
	return s, nil
}

// cronStarBit is robfig/cron's marker of a "*" field.
const cronStarBit = 1 << 63

// dstSchedule gives fixed-hour cron schedules cron(8)'s daylight-saving behaviour.
//
// FIX (found by TestNextRunCronAcrossDST* and TestCronScheduleThroughWorkflow): robfig/cron alone skips a run whose wall time falls in the
// hour a spring-forward change removes ("0 2 * * *" in Europe/Paris had no run on the last
// Sunday of March) and fires twice a wall time that a fall-back change repeats (two runs on the
// last Sunday of October). Here the skipped run fires shifted forward by the gap (02:00 ->
// 03:00 local, the instant of the change) and a repeated wall time fires only at its first
// occurrence. Schedules with a "*" hour (hourly and finer) keep following the real clock.
type dstSchedule struct{ *cron.SpecSchedule }

// Next implements cron.Schedule.
func (s dstSchedule) Next(t time.Time) time.Time {
	next := s.SpecSchedule.Next(t)
	loc := s.Location
	// Spring forward: evaluated on the UTC offset in force at t, a match whose wall time does
	// not exist in loc lies in the gap and was skipped by robfig/cron.
	_, off := t.In(loc).Zone()
	fixed := *s.SpecSchedule
	fixed.Location = time.FixedZone("", off)
	if alt := fixed.Next(t); !alt.IsZero() && (next.IsZero() || alt.Before(next)) && !wallTimeExists(alt.In(fixed.Location), loc) {
		return alt
	}
	// Fall back: skip the second occurrence of a repeated wall time.
	if !next.IsZero() && repeatsEarlierWallTime(next, loc) {
		next = s.SpecSchedule.Next(next)
	}
	return next
}

func wallTimeExists(w time.Time, loc *time.Location) bool {
	d := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
	return d.Day() == w.Day() && d.Hour() == w.Hour() && d.Minute() == w.Minute()
}

func repeatsEarlierWallTime(t time.Time, loc *time.Location) bool {
	w := t.In(loc)
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		p := t.Add(-back).In(loc)
		if p.Day() == w.Day() && p.Hour() == w.Hour() && p.Minute() == w.Minute() && p.Second() == w.Second() {
			return true
		}
	}
	return false
}

// ValidateSchedule checks a schedule and timezone as the workflow will read them.
func ValidateSchedule(expr, tz string) error {
	if d, err := time.ParseDuration(expr); err == nil {
		if d < time.Minute {
			return fmt.Errorf("schedule interval %s is shorter than 1m", expr)
		}
		if tz != "" {
			if _, err := time.LoadLocation(tz); err != nil {
				return fmt.Errorf("unknown timezone %q: use an IANA name such as Europe/Paris", tz)
			}
		}
		return nil
	}
	_, err := ParseCron(expr, tz)
	return err
}

func (c *connection) status() (model.Status, error) {
	spec := c.spec
	st := model.Status{ConnectionID: c.st.ConnectionID, State: c.st.State, Seq: c.st.Seq, CurrentRun: c.running,
		LastRun: c.st.LastRun, TokenExpiresAt: c.st.TokenExpiresAt, LastError: c.st.LastError, Checks: c.st.Checks,
		Schedule: &spec, PendingSyncs: len(c.st.Pending)}
	for _, p := range c.st.Pending {
		if p.RequestID != "" {
			st.PendingIDs = append(st.PendingIDs, p.RequestID)
		}
	}
	if c.st.State != model.StatePaused && c.st.State != model.StateDeleted {
		st.NextRunAt = c.next
	}
	return st, nil
}

func (c *connection) validateRotate(_ workflow.Context, req model.RotateTokenRequest) error {
	if !strings.HasPrefix(req.Fingerprint, "s1tok_") || len(req.Fingerprint) < 10 {
		return fmt.Errorf("malformed token fingerprint %q: use `starter rotate-token ID --token-file PATH`", req.Fingerprint)
	}
	if c.st.State == model.StateDeleted || c.deleteRq != nil {
		return errors.New("the connection is being deleted")
	}
	return nil
}

// rotateToken checks the pending token against the console and only then makes it active.
func (c *connection) rotateToken(ctx workflow.Context, req model.RotateTokenRequest) (*model.RotateTokenResult, error) {
	actx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	var res model.CheckConnectionResult
	if err := workflow.ExecuteActivity(actx, model.ActivityCheckConnection, model.CheckConnectionInput{ConnectionID: c.st.ConnectionID, UsePendingToken: true}).Get(ctx, &res); err != nil {
		return nil, err
	}
	if !res.OK {
		msg := "the new token failed the connection test"
		if res.Error != nil {
			msg += ": " + res.Error.Message + " (" + res.Error.Remediation + ")"
		}
		return &model.RotateTokenResult{Fingerprint: req.Fingerprint, Checks: res.Checks},
			temporal.NewNonRetryableApplicationError(msg, model.ErrTypeRejected, nil, res.Checks)
	}
	if err := workflow.ExecuteActivity(actx, model.ActivityPromoteToken, model.PromoteTokenInput{ConnectionID: c.st.ConnectionID,
		Fingerprint: req.Fingerprint, TokenExpiresAt: res.TokenExpiresAt}).Get(ctx, nil); err != nil {
		return nil, err
	}
	if !res.TokenExpiresAt.IsZero() {
		c.st.TokenExpiresAt = res.TokenExpiresAt
		_ = workflow.UpsertTypedSearchAttributes(ctx, SATokenExpiresAt.ValueSet(res.TokenExpiresAt))
	}
	c.st.Checks = res.Checks
	c.st.TokenGen++
	workflow.GetLogger(ctx).Info("token rotated", "fingerprint", req.Fingerprint)
	failed := func(s model.State) bool { return s == model.StateAuthFailed || s == model.StateTestFailed }
	if failed(c.st.State) || (c.st.State == model.StatePaused && failed(c.st.PausedFrom)) {
		c.rotated = true
		c.wake.SendAsync(struct{}{})
	}
	return &model.RotateTokenResult{Fingerprint: req.Fingerprint, TokenExpiresAt: res.TokenExpiresAt, Checks: res.Checks}, nil
}
