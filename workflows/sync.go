// Package workflows holds the connector's workflows: one long-lived
// ConnectionWorkflow per connection and one SyncWorkflow child per sync. Pure
// orchestration: every I/O happens in activities, and no record ever passes
// through workflow history — activities store pages and return counts.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
)

// nonRetryable lists the error types that need a human, not a retry.
var nonRetryable = []string{model.ErrTypeAuth, model.ErrTypePermission, model.ErrTypeConfig, model.ErrTypeNotFound,
	"MalformedRecord", "Superseded"}

// streamActivityOptions: one heartbeating activity walks a stream; it resumes from the store's
// checkpoint on retry, so retries are cheap and unlimited within a day. heartbeat is the
// worker's SYNC_HEARTBEAT_TIMEOUT (0 = one minute): a killed worker's walk resumes elsewhere
// that long after its last heartbeat.
func streamActivityOptions(heartbeat time.Duration) workflow.ActivityOptions {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeatTimeout
	}
	return workflow.ActivityOptions{
		StartToCloseTimeout:    12 * time.Hour,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       heartbeat,
		// Pause and delete cancel a sync; the sync ends only once its walks stopped writing.
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, NonRetryableErrorTypes: nonRetryable},
	}
}

// DefaultHeartbeatTimeout is the stream walks' heartbeat timeout unless the worker sets one.
const DefaultHeartbeatTimeout = time.Minute

func shortActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 20, NonRetryableErrorTypes: nonRetryable},
	}
}

// WalkID names the walk of one stream in one sync; a re-run of the same sync resumes it.
func WalkID(connectionID string, seq int64, stream string) string {
	return fmt.Sprintf("%s:%d:%s", connectionID, seq, stream)
}

// SyncWorkflow runs the requested streams of one sync, a bounded number at a time, and
// records the run's summary. Stream failures are reported in the summary, not as errors,
// so the connection can react (AuthFailed, partial).
func SyncWorkflow(ctx workflow.Context, in model.SyncWorkflowInput) (*model.SyncWorkflowResult, error) {
	log := workflow.GetLogger(ctx)
	info := workflow.GetInfo(ctx)
	conc := in.Concurrency
	if conc <= 0 {
		conc = 3
	}
	in.Streams = dedupe(in.Streams) // one walk per stream, whatever the request said
	sum := model.RunSummary{Seq: in.Seq, WorkflowID: info.WorkflowExecution.ID, StartedAt: workflow.Now(ctx).UTC(), Mode: in.Mode}
	sctx := workflow.WithActivityOptions(ctx, shortActivityOptions())
	if err := workflow.ExecuteActivity(sctx, model.ActivityStartRun, model.StartRunInput{ConnectionID: in.ConnectionID,
		Seq: in.Seq, WorkflowID: sum.WorkflowID, Mode: in.Mode, Streams: in.Streams}).Get(ctx, nil); err != nil {
		return nil, err
	}
	actx := workflow.WithActivityOptions(ctx, streamActivityOptions(in.HeartbeatTimeout))
	plans := map[string]model.StreamPlan{}
	if hasWindowed(in.Streams) {
		var plan model.PlanSyncResult
		if err := workflow.ExecuteActivity(sctx, model.ActivityPlanSync, model.PlanSyncInput{ConnectionID: in.ConnectionID,
			Streams: in.Streams}).Get(ctx, &plan); err != nil {
			return nil, err
		}
		for _, p := range plan.Streams {
			plans[p.Stream] = p
		}
	}
	t0 := workflow.Now(ctx).UTC()
	results := make([]model.StreamResult, len(in.Streams))
	sem := workflow.NewSemaphore(ctx, int64(conc))
	backfillSem := workflow.NewSemaphore(ctx, BackfillConcurrency)
	wg := workflow.NewWaitGroup(ctx)
	// Streams joined with the agents (host fields) start once this sync's agents walk ended.
	agentsDone, setAgentsDone := workflow.NewFuture(ctx)
	if !contains(in.Streams, model.StreamAgents) {
		setAgentsDone.Set(nil, nil)
	}
	for i, stream := range in.Streams {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			if stream == model.StreamAgents {
				defer setAgentsDone.Set(nil, nil)
			} else if model.JoinsAgents(stream) {
				_ = agentsDone.Get(gctx, nil)
			}
			if err := sem.Acquire(gctx, 1); err != nil {
				results[i] = model.StreamResult{Stream: stream, Error: errorInfo(gctx, stream, err)}
				return
			}
			defer sem.Release(1)
			var bf *model.StreamResult
			if model.IsWindowed(stream) {
				plan := plans[stream]
				lookback := in.Backfill
				first := plan.Watermark.IsZero()
				if first && lookback == 0 {
					lookback = plan.Lookback
				}
				if lookback > 0 {
					r := backfill(gctx, actx, backfillSem, in, stream, t0.Add(-lookback), t0, plan.Windows)
					if r.Error != nil {
						results[i] = r
						return
					}
					if first {
						// The next delta starts where the backfill ended.
						if err := workflow.ExecuteActivity(sctx, model.ActivitySetWatermark, model.SetWatermarkInput{
							ConnectionID: in.ConnectionID, Stream: stream, At: t0}).Get(gctx, nil); err != nil {
							results[i] = model.StreamResult{Stream: stream, Mode: model.ModeBackfill, Error: errorInfo(gctx, stream, err)}
							return
						}
					}
					bf = &r
				}
			}
			var r model.StreamResult
			err := workflow.ExecuteActivity(actx, model.ActivitySyncStream, model.SyncStreamInput{ConnectionID: in.ConnectionID,
				Stream: stream, Mode: in.Mode, WalkID: WalkID(in.ConnectionID, in.Seq, stream), SyncStartedAt: sum.StartedAt}).Get(gctx, &r)
			if err != nil {
				r = model.StreamResult{Stream: stream, Mode: in.Mode, Error: errorInfo(gctx, stream, err)}
				log.Warn("stream failed", "stream", stream, "error", err)
			}
			if bf != nil {
				r = addResults(*bf, r)
			}
			results[i] = r
		})
	}
	wg.Wait(ctx)
	sum.Streams = results
	sum.FinishedAt = workflow.Now(ctx).UTC()
	sum.Status = model.RunSuccess
	failed := 0
	for _, r := range results {
		if r.Error == nil {
			continue
		}
		failed++
		if sum.Error == nil || r.Error.Type == model.ErrTypeAuth {
			sum.Error = r.Error
		}
	}
	switch {
	case sum.Error != nil && sum.Error.Type == model.ErrTypeAuth:
		sum.Status = model.RunAuthFailed
	case failed == len(results) && failed > 0:
		sum.Status = model.RunFailed
	case failed > 0:
		sum.Status = model.RunPartial
	}
	// Routed detections were queued in the outbox with their pages; deliver them now.
	if ctx.Err() == nil {
		dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Minute,
			HeartbeatTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
				MaximumInterval: time.Minute, MaximumAttempts: 10}})
		var dr model.DeliverOutboxResult
		if err := workflow.ExecuteActivity(dctx, model.ActivityDeliverOutbox, model.DeliverOutboxInput{ConnectionID: in.ConnectionID}).Get(ctx, &dr); err != nil {
			log.Warn("delivering routed detections failed; they stay queued for the next sync", "error", err)
		}
	}
	// Recording the summary must not be cancelled with the sync (pause/delete cancel us).
	dctx, _ := workflow.NewDisconnectedContext(sctx)
	if err := workflow.ExecuteActivity(dctx, model.ActivityFinishRun, model.FinishRunInput{ConnectionID: in.ConnectionID, Summary: sum}).Get(dctx, nil); err != nil {
		return nil, err
	}
	return &model.SyncWorkflowResult{Summary: sum}, nil
}

// errorInfo turns an activity error into a human-readable ErrorInfo with a remediation.
func errorInfo(ctx workflow.Context, stream string, err error) *model.ErrorInfo {
	ei := &model.ErrorInfo{At: workflow.Now(ctx).UTC(), Stream: stream, Type: "Error", Message: err.Error()}
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	switch {
	case errors.As(err, &app):
		ei.Type, ei.Message = app.Type(), app.Message()
	case errors.As(err, &canceled):
		ei.Type = "Canceled"
	}
	ei.Remediation = remediation(ei.Type)
	return ei
}

func remediation(errType string) string {
	switch errType {
	case model.ErrTypeAuth:
		return "the API token is invalid, revoked or expired: generate a new token in the console (Settings > Users > Service Users) and run `starter rotate-token ID --token-file PATH`; the sync resumes from its checkpoint"
	case model.ErrTypePermission:
		return "the token's user lacks a permission for this stream: grant the role the named permission on the connection's scope, or remove the stream with `starter connection update`"
	case model.ErrTypeConfig:
		return "the connection's configuration cannot work as is: fix the named setting (filters, scope IDs, console URL) and sync again"
	case "MalformedRecord":
		return "the console returned a record the connector cannot read; the checkpoint is kept before it: report the record's shape and sync again after upgrading"
	case "Canceled":
		return "the sync was cancelled (pause or delete); it resumes from its checkpoint"
	}
	return "retries are exhausted: check the console's availability and the worker logs, then run `starter sync ID`"
}

// BackfillConcurrency bounds the backfill windows walked at once across a sync's streams.
const BackfillConcurrency = 4

// MinBackfillWindow is the shortest window a lookback is split into.
const MinBackfillWindow = time.Minute

// MaxBackfillWindows bounds how many windows a lookback is split into.
const MaxBackfillWindows = 64

func dedupe(list []string) []string {
	var out []string
	for _, s := range list {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasWindowed(streams []string) bool {
	for _, s := range streams {
		if model.IsWindowed(s) {
			return true
		}
	}
	return false
}

// SplitDayWindows divides [from, to) into day-sized windows (at most MaxBackfillWindows, at
// least one): the plan of workflows started before the backfill-windows change.
func SplitDayWindows(from, to time.Time) []model.Window {
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	return SplitWindows(from, to, int((span+24*time.Hour-1)/(24*time.Hour)))
}

// SplitWindows divides [from, to) into n equal, contiguous, half-open windows (n is clamped to
// 1..MaxBackfillWindows, and so that no window is shorter than MinBackfillWindow: a window's
// checkpoint is named after its start to the second, and two windows sharing one would
// supersede each other's walk).
func SplitWindows(from, to time.Time, n int) []model.Window {
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	n = max(1, min(n, MaxBackfillWindows, int(span/MinBackfillWindow)))
	size := span / time.Duration(n)
	out := make([]model.Window, 0, n)
	for i := 0; i < n; i++ {
		w := model.Window{From: from.Add(time.Duration(i) * size), To: from.Add(time.Duration(i+1) * size)}
		if i == n-1 {
			w.To = to
		}
		out = append(out, w)
	}
	return out
}

// backfill walks a windowed stream's lookback as n parallel, individually resumable windows.
func backfill(ctx, actx workflow.Context, sem workflow.Semaphore, in model.SyncWorkflowInput, stream string, from, to time.Time, n int) model.StreamResult {
	var windows []model.Window
	// Version 1: the connection's window count (default 2) instead of one window per day, which
	// cost a partial page per day (1.025x the minimal requests for 200k threats, 1.18x for 100k
	// alerts) and a workflow activity per day.
	if workflow.GetVersion(ctx, "backfill-windows", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		windows = SplitDayWindows(from, to)
	} else {
		if n <= 0 {
			n = model.DefaultBackfillWindows
		}
		windows = SplitWindows(from, to, n)
	}
	results := make([]model.StreamResult, len(windows))
	wg := workflow.NewWaitGroup(ctx)
	for i, w := range windows {
		wg.Add(1)
		workflow.Go(ctx, func(gctx workflow.Context) {
			defer wg.Done()
			if err := sem.Acquire(gctx, 1); err != nil {
				results[i] = model.StreamResult{Stream: stream, Error: errorInfo(gctx, stream, err)}
				return
			}
			defer sem.Release(1)
			win := w
			var r model.StreamResult
			err := workflow.ExecuteActivity(actx, model.ActivitySyncStream, model.SyncStreamInput{ConnectionID: in.ConnectionID,
				Stream: stream, Mode: model.ModeBackfill, WalkID: fmt.Sprintf("%s@%d", WalkID(in.ConnectionID, in.Seq, stream), i),
				Window: &win, RouteBackfill: in.RouteBackfill, Checkpoint: fmt.Sprintf("%s@%s", stream, win.From.UTC().Format("20060102T150405Z"))}).Get(gctx, &r)
			if err != nil {
				r = model.StreamResult{Stream: stream, Mode: model.ModeBackfill, Error: errorInfo(gctx, stream, err)}
			}
			results[i] = r
		})
	}
	wg.Wait(ctx)
	total := model.StreamResult{Stream: stream, Mode: model.ModeBackfill}
	for _, r := range results {
		total = addResults(total, r)
		total.Windows++
	}
	total.Mode = model.ModeBackfill
	return total
}

// addResults sums two walks of one stream (the first error wins).
func addResults(a, b model.StreamResult) model.StreamResult {
	out := b
	out.Pages += a.Pages
	out.Fetched += a.Fetched
	out.Inserted += a.Inserted
	out.Updated += a.Updated
	out.Unchanged += a.Unchanged
	out.Quarantined += a.Quarantined
	out.Removed += a.Removed
	out.Requests += a.Requests
	out.Refreshed += a.Refreshed
	out.Windows += a.Windows
	out.Duration += a.Duration
	if a.Error != nil {
		out.Error = a.Error
	}
	if out.Mode == "" {
		out.Mode = a.Mode
	}
	return out
}
