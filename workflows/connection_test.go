package workflows_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/workflows"
)

const connID = "c1"

// t0 is the test clock's start: a Thursday in winter time (Europe/Paris is UTC+1).
var t0 = time.Date(2026, 3, 26, 10, 0, 0, 0, time.UTC)

// childRun is one SyncWorkflow child as the stand-in saw it.
type childRun struct {
	ID       string
	In       model.SyncWorkflowInput
	Start    time.Time
	End      time.Time
	Canceled bool
}

// harness drives ConnectionWorkflow in the SDK test environment with stand-in activities and a
// stand-in SyncWorkflow child that records its input and start instant on the test clock.
type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu         sync.Mutex
	spec       model.ScheduleSpec
	runs       []childRun
	inFlight   int
	maxFlight  int
	states     []model.State
	checks     []model.CheckConnectionInput
	promoted   []model.PromoteTokenInput
	purged     []model.PurgeInput
	syncLength func(n int) time.Duration      // how long the n-th child (0-based) runs on the test clock
	syncStatus func(n int) model.RunSummary   // the n-th child's summary (Status, Error); default success
	pendingOK  func(fingerprint string) bool  // CheckConnection with UsePendingToken
	activeOK   bool                           // CheckConnection with the active token
	statuses   map[time.Duration]model.Status // statusAt results, by offset from t0
	updateErrs map[string]error               // update results by update ID
	updateRes  map[string]model.RotateTokenResult
	rejected   map[string]error
}

func newHarness(t *testing.T, spec model.ScheduleSpec) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(20 * time.Second) // wall-clock guard; the scenario itself runs on the test clock
	h := &harness{t: t, env: env, spec: spec, activeOK: true,
		statuses: map[time.Duration]model.Status{}, updateErrs: map[string]error{},
		updateRes: map[string]model.RotateTokenResult{}, rejected: map[string]error{}}
	h.pendingOK = func(string) bool { return true }

	env.RegisterWorkflowWithOptions(workflows.ConnectionWorkflow, workflow.RegisterOptions{Name: model.ConnectionWorkflowName})
	env.RegisterWorkflowWithOptions(h.fakeSync, workflow.RegisterOptions{Name: model.SyncWorkflowName})
	reg := func(fn any, name string) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(func(_ context.Context, in model.LoadConnectionInput) (model.LoadConnectionResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return model.LoadConnectionResult{Exists: true, Schedule: h.spec}, nil
	}, model.ActivityLoadConnection)
	reg(func(_ context.Context, in model.CheckConnectionInput) (model.CheckConnectionResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.checks = append(h.checks, in)
		checks := []model.CheckResult{{Name: "authentication", Outcome: model.CheckPass}}
		ok := h.activeOK
		if in.UsePendingToken {
			ok = h.pendingOK("")
		}
		if !ok {
			return model.CheckConnectionResult{OK: false, Checks: []model.CheckResult{{Name: "authentication", Outcome: model.CheckFail}},
				Error: &model.ErrorInfo{Type: "Check:authentication", Message: "401 Unauthorized", Remediation: "generate a new token"}}, nil
		}
		return model.CheckConnectionResult{OK: true, Checks: checks, TokenExpiresAt: t0.Add(90 * 24 * time.Hour)}, nil
	}, model.ActivityCheckConnection)
	reg(func(_ context.Context, in model.SetStateInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.states = append(h.states, in.State)
		return nil
	}, model.ActivitySetState)
	reg(func(_ context.Context, in model.PromoteTokenInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.promoted = append(h.promoted, in)
		return nil
	}, model.ActivityPromoteToken)
	reg(func(_ context.Context, in model.PurgeInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.purged = append(h.purged, in)
		return nil
	}, model.ActivityPurge)
	return h
}

// fakeSync stands in for SyncWorkflow: it records itself, runs syncLength(n) on the test clock
// (cancellable like a real sync) and reports syncStatus(n).
func (h *harness) fakeSync(ctx workflow.Context, in model.SyncWorkflowInput) (*model.SyncWorkflowResult, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	start := workflow.Now(ctx).UTC()
	h.mu.Lock()
	n := len(h.runs)
	h.runs = append(h.runs, childRun{ID: id, In: in, Start: start})
	h.inFlight++
	h.maxFlight = max(h.maxFlight, h.inFlight)
	length, status := h.syncLength, h.syncStatus
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.runs[n].End = workflow.Now(ctx).UTC()
		h.mu.Unlock()
	}()
	if length != nil {
		if d := length(n); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				h.mu.Lock()
				h.runs[n].Canceled = true
				h.mu.Unlock()
				return nil, err
			}
		}
	}
	sum := model.RunSummary{Status: model.RunSuccess}
	if status != nil {
		sum = status(n)
	}
	sum.Seq, sum.WorkflowID, sum.StartedAt, sum.FinishedAt, sum.Mode = in.Seq, id, start, workflow.Now(ctx).UTC(), in.Mode
	return &model.SyncWorkflowResult{Summary: sum}, nil
}

// at runs fn at offset d from t0 on the test clock.
func (h *harness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

func (h *harness) signalAt(d time.Duration, name string, arg any) {
	h.at(d, func() { h.env.SignalWorkflow(name, arg) })
}

// statusAt records the status query's answer at offset d (read it with status(d)).
func (h *harness) statusAt(d time.Duration) {
	h.at(d, func() {
		v, err := h.env.QueryWorkflow(model.QueryStatus)
		if !assert.NoError(h.t, err, "status query at t0+%s", d) {
			return
		}
		var st model.Status
		assert.NoError(h.t, v.Get(&st))
		h.mu.Lock()
		h.statuses[d] = st
		h.mu.Unlock()
	})
}

func (h *harness) status(d time.Duration) model.Status {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.statuses[d]
	require.True(h.t, ok, "no status recorded at t0+%s (did the workflow end earlier?)", d)
	return st
}

// rotateAt sends the rotate-token update at offset d and records its outcome under id.
func (h *harness) rotateAt(d time.Duration, id, fingerprint string) {
	h.at(d, func() {
		h.env.UpdateWorkflow(model.UpdateRotateToken, id, &testsuite.TestUpdateCallback{
			OnReject: func(err error) {
				h.mu.Lock()
				h.rejected[id] = err
				h.mu.Unlock()
			},
			OnComplete: func(res any, err error) {
				h.mu.Lock()
				defer h.mu.Unlock()
				h.updateErrs[id] = err
				if r, ok := res.(*model.RotateTokenResult); ok && r != nil {
					h.updateRes[id] = *r
				}
			},
		}, model.RotateTokenRequest{Fingerprint: fingerprint})
	})
}

func (h *harness) deleteAt(d time.Duration, purge bool) {
	h.signalAt(d, model.SignalDelete, model.DeleteRequest{Purge: purge})
}

// run executes the ConnectionWorkflow to its end and returns its error.
func (h *harness) run(in model.ConnectionWorkflowInput) error {
	h.t.Helper()
	if in.ConnectionID == "" {
		in.ConnectionID = connID
	}
	h.env.ExecuteWorkflow(model.ConnectionWorkflowName, in)
	require.True(h.t, h.env.IsWorkflowCompleted(), "the connection workflow did not finish")
	return h.env.GetWorkflowError()
}

// starts returns each child's start as an offset from t0.
func (h *harness) starts() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []time.Duration
	for _, r := range h.runs {
		out = append(out, r.Start.Sub(t0))
	}
	return out
}

func (h *harness) children() []childRun {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.runs)
}

func hourly() model.ScheduleSpec {
	return model.ScheduleSpec{Schedule: "1h", Timezone: "UTC", Streams: []string{model.StreamAgents, model.StreamXDRAssets, model.StreamApplications},
		ReconcileEvery: 24 * time.Hour}
}

func authFailedSummary() model.RunSummary {
	return model.RunSummary{Status: model.RunAuthFailed, Error: &model.ErrorInfo{At: t0, Stream: model.StreamAgents, Type: model.ErrTypeAuth,
		Message: "401 Unauthorized", Remediation: "the API token is invalid, revoked or expired: run `starter rotate-token ID --token-file PATH`"}}
}

func TestFirstSyncTestsAndRunsFullThenDeleteEnds(t *testing.T) {
	h := newHarness(t, hourly())
	h.statusAt(30 * time.Minute)
	h.deleteAt(90*time.Minute, true)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	assert.Equal(t, []time.Duration{0, time.Hour}, h.starts())
	runs := h.children()
	assert.Equal(t, model.ModeFull, runs[0].In.Mode, "the first sync must be a full walk")
	assert.Equal(t, model.ModeDelta, runs[1].In.Mode)
	assert.Equal(t, hourly().Streams, runs[0].In.Streams)
	assert.Equal(t, model.SyncWorkflowID(connID, 1), runs[0].ID)
	assert.Equal(t, model.SyncWorkflowID(connID, 2), runs[1].ID)
	require.NotEmpty(t, h.checks)
	assert.False(t, h.checks[0].UsePendingToken)
	assert.Equal(t, []model.State{model.StateRegistered, model.StateTesting, model.StateScheduled, model.StateProcessing, model.StateProcessed},
		h.states[:5])

	st := h.status(30 * time.Minute)
	assert.Equal(t, model.StateProcessed, st.State)
	assert.Equal(t, int64(1), st.Seq)
	assert.Equal(t, t0.Add(time.Hour), st.NextRunAt.UTC())
	assert.Equal(t, []model.PurgeInput{{ConnectionID: connID, Purge: true}}, h.purged)
}

func TestIntervalMissedRunsCoalesce(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncLength = func(n int) time.Duration {
		if n == 1 {
			return 3*time.Hour + 30*time.Minute // runs over the 2h, 3h and 4h slots
		}
		return 5 * time.Minute
	}
	h.deleteAt(6*time.Hour, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	// 0h, 1h (ends 4h30m), then ONE run for the missed 2h/3h/4h slots right after, then hourly again.
	assert.Equal(t, []time.Duration{0, time.Hour, 4*time.Hour + 30*time.Minute, 5*time.Hour + 30*time.Minute}, h.starts())
	assert.Equal(t, 1, h.maxFlight, "two syncs ran at once")
}

func TestPauseStopsRunsResumeRestarts(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncLength = func(int) time.Duration { return 5 * time.Minute }
	h.signalAt(30*time.Minute, model.SignalPause, nil)
	h.statusAt(31 * time.Minute)
	h.statusAt(4 * time.Hour)
	h.signalAt(5*time.Hour, model.SignalResume, nil)
	h.statusAt(5*time.Hour + 30*time.Minute)
	h.deleteAt(6*time.Hour+30*time.Minute, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	assert.Equal(t, []time.Duration{0, 5 * time.Hour, 6 * time.Hour}, h.starts(), "no run while paused; one run at resume; hourly after")
	assert.Equal(t, model.StatePaused, h.status(31*time.Minute).State)
	paused := h.status(4 * time.Hour)
	assert.Equal(t, model.StatePaused, paused.State)
	assert.Equal(t, int64(1), paused.Seq)
	assert.True(t, paused.NextRunAt.IsZero(), "a paused connection shows no next run")
	resumed := h.status(5*time.Hour + 30*time.Minute)
	assert.Equal(t, model.StateProcessed, resumed.State)
	assert.Equal(t, int64(2), resumed.Seq)
	assert.Equal(t, t0.Add(6*time.Hour), resumed.NextRunAt.UTC())
}

func TestPauseCancelsRunningSyncAndResumeRerunsSameSeq(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncLength = func(n int) time.Duration {
		if n == 0 {
			return 2 * time.Hour
		}
		return 5 * time.Minute
	}
	h.signalAt(30*time.Minute, model.SignalPause, nil)
	h.statusAt(time.Hour)
	h.signalAt(3*time.Hour, model.SignalResume, nil)
	h.deleteAt(3*time.Hour+30*time.Minute, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	runs := h.children()
	require.Len(t, runs, 2)
	assert.True(t, runs[0].Canceled, "pause must cancel the running sync")
	assert.Equal(t, 30*time.Minute, runs[0].End.Sub(t0))
	assert.Equal(t, 3*time.Hour, runs[1].Start.Sub(t0))
	assert.Equal(t, runs[0].ID, runs[1].ID, "the interrupted sync resumes under its own ID")
	assert.Equal(t, int64(1), runs[1].In.Seq)
	assert.Equal(t, runs[0].In.Mode, runs[1].In.Mode, "a resumed sync keeps its walks' mode")
	st := h.status(time.Hour)
	assert.Equal(t, model.StatePaused, st.State)
	assert.Nil(t, st.CurrentRun)
}

func TestRotateToken(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncStatus = func(n int) model.RunSummary {
		if n == 0 {
			return authFailedSummary()
		}
		return model.RunSummary{Status: model.RunSuccess}
	}
	h.pendingOK = func(string) bool { return false }
	h.statusAt(2 * time.Hour)
	h.rotateAt(2*time.Hour+time.Minute, "malformed", "not-a-fingerprint")
	h.rotateAt(2*time.Hour+2*time.Minute, "bad-token", "s1tok_0000bad")
	h.statusAt(2*time.Hour + 3*time.Minute)
	h.at(2*time.Hour+4*time.Minute, func() {
		h.mu.Lock()
		h.pendingOK = func(string) bool { return true }
		h.mu.Unlock()
	})
	h.rotateAt(3*time.Hour, "good-token", "s1tok_1111good")
	h.statusAt(3*time.Hour + 10*time.Minute)
	h.deleteAt(4*time.Hour+30*time.Minute, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	// Malformed: rejected by the validator, nothing executed.
	assert.Error(t, h.rejected["malformed"], "a malformed fingerprint must be rejected by the validator")
	assert.NotContains(t, h.updateErrs, "malformed")

	// Failing check: accepted, completes with an error, nothing promoted, still AuthFailed.
	require.Contains(t, h.updateErrs, "bad-token")
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(h.updateErrs["bad-token"], &appErr), "got %v", h.updateErrs["bad-token"])
	assert.Equal(t, model.ErrTypeRejected, appErr.Type())
	assert.Equal(t, model.StateAuthFailed, h.status(2*time.Hour+3*time.Minute).State)

	// Good token: promoted once, with its fingerprint, after a check of the PENDING token.
	require.Contains(t, h.updateErrs, "good-token")
	assert.NoError(t, h.updateErrs["good-token"])
	assert.Equal(t, "s1tok_1111good", h.updateRes["good-token"].Fingerprint)
	require.Len(t, h.promoted, 1, "only the good token may be promoted")
	assert.Equal(t, "s1tok_1111good", h.promoted[0].Fingerprint)
	var pendingChecks int
	for _, c := range h.checks {
		if c.UsePendingToken {
			pendingChecks++
		}
	}
	assert.Equal(t, 2, pendingChecks, "the malformed fingerprint must not reach CheckConnection")

	// AuthFailed: no sync from the failure until the rotation, then the SAME sync re-runs.
	st := h.status(2 * time.Hour)
	assert.Equal(t, model.StateAuthFailed, st.State)
	require.NotNil(t, st.LastError)
	assert.Equal(t, model.ErrTypeAuth, st.LastError.Type)
	runs := h.children()
	require.Len(t, runs, 3, "starts: %v", h.starts())
	assert.Equal(t, 3*time.Hour, runs[1].Start.Sub(t0), "the re-run starts right after the rotation")
	assert.Equal(t, model.SyncWorkflowID(connID, 1), runs[1].ID, "the re-run must reuse the failed sync's ID")
	assert.Equal(t, int64(1), runs[1].In.Seq)
	assert.Equal(t, model.SyncWorkflowID(connID, 2), runs[2].ID, "the next scheduled sync takes a new seq")
	assert.Equal(t, 4*time.Hour, runs[2].Start.Sub(t0))
	after := h.status(3*time.Hour + 10*time.Minute)
	assert.Equal(t, model.StateProcessed, after.State)
	assert.Nil(t, after.LastError)
	assert.Equal(t, t0.Add(90*24*time.Hour), after.TokenExpiresAt.UTC())
}

func TestSyncNowSubsetFullReachesSyncInput(t *testing.T) {
	h := newHarness(t, model.ScheduleSpec{Schedule: "24h", Timezone: "UTC", ReconcileEvery: 7 * 24 * time.Hour,
		Streams: []string{model.StreamAgents, model.StreamXDRAssets, model.StreamApplications}})
	h.signalAt(time.Hour, model.SignalSyncNow, model.SyncRequest{Streams: []string{model.StreamXDRAssets}, Full: true,
		Backfill: 48 * time.Hour, RequestID: "req-full"})
	h.signalAt(2*time.Hour, model.SignalSyncNow, model.SyncRequest{Streams: []string{model.StreamAgents}, RequestID: "req-delta"})
	h.statusAt(3 * time.Hour)
	h.deleteAt(4*time.Hour, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	runs := h.children()
	require.Len(t, runs, 3)
	assert.Equal(t, time.Hour, runs[1].Start.Sub(t0))
	assert.Equal(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 2, Streams: []string{model.StreamXDRAssets},
		Mode: model.ModeFull, Backfill: 48 * time.Hour}, runs[1].In)
	assert.Equal(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 3, Streams: []string{model.StreamAgents},
		Mode: model.ModeDelta}, runs[2].In, "without Full a sync-now after a full walk is a delta")
	st := h.status(3 * time.Hour)
	require.NotNil(t, st.LastRun)
	assert.Equal(t, []string{"req-delta"}, st.LastRun.RequestIDs)
}

func TestSyncNowsDuringSyncMergeIntoOneFollowUp(t *testing.T) {
	h := newHarness(t, model.ScheduleSpec{Schedule: "24h", Timezone: "UTC", ReconcileEvery: 7 * 24 * time.Hour,
		Streams: []string{model.StreamAgents, model.StreamXDRAssets, model.StreamApplications}})
	h.syncLength = func(int) time.Duration { return 2 * time.Hour }
	h.signalAt(30*time.Minute, model.SignalSyncNow, model.SyncRequest{Streams: []string{model.StreamAgents}, Full: true, RequestID: "r1"})
	h.signalAt(40*time.Minute, model.SignalSyncNow, model.SyncRequest{Streams: []string{model.StreamXDRAssets}, RequestID: "r2"})
	h.statusAt(time.Hour)
	h.statusAt(3 * time.Hour)
	h.deleteAt(10*time.Hour, false)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	runs := h.children()
	require.Len(t, runs, 2, "two sync-nows during a sync make ONE follow-up run; starts: %v", h.starts())
	assert.Equal(t, 1, h.maxFlight, "two syncs ran at once")
	assert.Equal(t, 2*time.Hour, runs[1].Start.Sub(t0), "the follow-up starts when the running sync ends")
	assert.Equal(t, []string{model.StreamAgents, model.StreamXDRAssets}, runs[1].In.Streams)
	assert.Equal(t, model.ModeFull, runs[1].In.Mode)
	during := h.status(time.Hour)
	assert.Equal(t, model.StateProcessing, during.State)
	assert.Equal(t, 2, during.PendingSyncs)
	assert.Equal(t, []string{"r1", "r2"}, during.PendingIDs)
	require.NotNil(t, during.CurrentRun)
	assert.Equal(t, model.SyncWorkflowID(connID, 1), during.CurrentRun.WorkflowID)
	after := h.status(3 * time.Hour)
	assert.Equal(t, 0, after.PendingSyncs)
	require.NotNil(t, after.CurrentRun)
	assert.Equal(t, []string{"r1", "r2"}, after.CurrentRun.RequestIDs)
}

// continuedInput decodes the input of the ContinueAsNewError the workflow ended with.
func continuedInput(t *testing.T, err error) model.ConnectionWorkflowInput {
	t.Helper()
	require.Error(t, err, "the workflow should have continued as new")
	require.True(t, workflow.IsContinueAsNewError(err), "want continue-as-new, got %v", err)
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can))
	assert.Equal(t, model.ConnectionWorkflowName, can.WorkflowType.Name)
	var in model.ConnectionWorkflowInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &in))
	return in
}

func TestContinueAsNewKeepsStateAndPendingSignals(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncLength = func(int) time.Duration { return 10 * time.Minute }
	// Sent during the 2nd sync, i.e. just before continue-as-new: it must not be lost.
	h.signalAt(time.Hour+5*time.Minute, model.SignalSyncNow, model.SyncRequest{Streams: []string{model.StreamAgents}, RequestID: "late"})
	err := h.run(model.ConnectionWorkflowInput{Testing: &model.TestingPolicy{SyncsBeforeContinueAsNew: 2}})

	in := continuedInput(t, err)
	assert.Equal(t, []time.Duration{0, time.Hour}, h.starts())
	assert.Equal(t, connID, in.ConnectionID)
	assert.Equal(t, int64(2), in.Seq)
	assert.Equal(t, model.StateProcessed, in.State)
	require.NotNil(t, in.LastRun)
	assert.Equal(t, int64(2), in.LastRun.Seq)
	assert.Equal(t, model.RunSuccess, in.LastRun.Status)
	assert.Equal(t, t0, in.LastFullAt.UTC(), "the first (full) sync's start")
	assert.Equal(t, t0.Add(time.Hour), in.LastScheduled.UTC())
	require.Len(t, in.Pending, 1)
	assert.Equal(t, "late", in.Pending[0].RequestID)
	assert.Equal(t, []string{model.StreamAgents}, in.Pending[0].Streams)
	require.NotNil(t, in.Config)
	assert.Equal(t, hourly(), *in.Config)
	require.NotNil(t, in.Testing)
	assert.Equal(t, 2, in.Testing.SyncsBeforeContinueAsNew)
	assert.Equal(t, t0.Add(90*24*time.Hour), in.TokenExpiresAt.UTC())

	// The next run picks up where this one stopped: no reload, no test, the pending request
	// served first under seq 3, and the schedule still anchored on the last slot.
	h2 := newHarness(t, model.ScheduleSpec{Schedule: "bogus"}) // a reload would break the schedule
	h2.env.SetStartTime(t0.Add(time.Hour + 10*time.Minute))
	h2.deleteAt(time.Hour, false)
	in.Testing = nil // one run of the continued workflow is enough here
	require.NoError(t, h2.run(in))
	runs := h2.children()
	require.Len(t, runs, 2)
	assert.Equal(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 3, Streams: []string{model.StreamAgents}, Mode: model.ModeDelta}, runs[0].In)
	assert.Equal(t, t0.Add(2*time.Hour), runs[1].Start, "the hourly schedule continues from the last slot")
	assert.Equal(t, int64(4), runs[1].In.Seq)
	assert.Empty(t, h2.checks, "a continued run must not re-test the connection")
}

func TestContinueAsNewKeepsResumeSeq(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncStatus = func(int) model.RunSummary { return authFailedSummary() }
	err := h.run(model.ConnectionWorkflowInput{Testing: &model.TestingPolicy{SyncsBeforeContinueAsNew: 1}})
	in := continuedInput(t, err)
	assert.Equal(t, model.StateAuthFailed, in.State)

	h2 := newHarness(t, hourly())
	h2.env.SetStartTime(t0)
	h2.rotateAt(2*time.Hour, "rot", "s1tok_2222good")
	h2.deleteAt(2*time.Hour+30*time.Minute, false)
	in.Testing = nil
	require.NoError(t, h2.run(in))
	runs := h2.children()
	require.Len(t, runs, 1, "starts: %v", h2.starts())
	assert.Equal(t, 2*time.Hour, runs[0].Start.Sub(t0))
	assert.Equal(t, model.SyncWorkflowID(connID, 1), runs[0].ID, "the sync that hit the 401 resumes under its seq across continue-as-new")
}

func TestAuthFailureDuringSyncNeedsRotation(t *testing.T) {
	// The real SyncWorkflow as the child, its SyncStream activity answering 401 for one stream.
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(20 * time.Second)
	env.RegisterWorkflowWithOptions(workflows.ConnectionWorkflow, workflow.RegisterOptions{Name: model.ConnectionWorkflowName})
	env.RegisterWorkflowWithOptions(workflows.SyncWorkflow, workflow.RegisterOptions{Name: model.SyncWorkflowName})
	reg := func(fn any, name string) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(func(context.Context, model.LoadConnectionInput) (model.LoadConnectionResult, error) {
		return model.LoadConnectionResult{Exists: true, Schedule: hourly()}, nil
	}, model.ActivityLoadConnection)
	reg(func(context.Context, model.CheckConnectionInput) (model.CheckConnectionResult, error) {
		return model.CheckConnectionResult{OK: true}, nil
	}, model.ActivityCheckConnection)
	reg(func(context.Context, model.SetStateInput) error { return nil }, model.ActivitySetState)
	reg(func(context.Context, model.StartRunInput) error { return nil }, model.ActivityStartRun)
	reg(func(context.Context, model.FinishRunInput) error { return nil }, model.ActivityFinishRun)
	reg(func(context.Context, model.PurgeInput) error { return nil }, model.ActivityPurge)
	reg(func(context.Context, model.DeliverOutboxInput) (model.DeliverOutboxResult, error) {
		return model.DeliverOutboxResult{}, nil
	}, model.ActivityDeliverOutbox)
	var mu sync.Mutex
	var walks []string
	reg(func(_ context.Context, in model.SyncStreamInput) (model.StreamResult, error) {
		mu.Lock()
		walks = append(walks, in.WalkID)
		mu.Unlock()
		if in.Stream == model.StreamXDRAssets {
			return model.StreamResult{}, temporal.NewNonRetryableApplicationError("GET /web/api/v2.1/xdr/assets: 401 Unauthorized", model.ErrTypeAuth, nil)
		}
		return model.StreamResult{Stream: in.Stream, Mode: in.Mode, Fetched: 10}, nil
	}, model.ActivitySyncStream)

	var st model.Status
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(model.QueryStatus)
		if assert.NoError(t, err) {
			assert.NoError(t, v.Get(&st))
		}
	}, 3*time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(model.SignalDelete, model.DeleteRequest{}) }, 4*time.Hour)
	env.ExecuteWorkflow(model.ConnectionWorkflowName, model.ConnectionWorkflowInput{ConnectionID: connID})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	assert.Equal(t, model.StateAuthFailed, st.State)
	require.NotNil(t, st.LastError)
	assert.Equal(t, model.ErrTypeAuth, st.LastError.Type)
	assert.Equal(t, model.StreamXDRAssets, st.LastError.Stream)
	assert.Contains(t, st.LastError.Remediation, "rotate-token", "the remediation must tell the operator what to do")
	require.NotNil(t, st.LastRun)
	assert.Equal(t, model.RunAuthFailed, st.LastRun.Status)
	assert.Equal(t, int64(1), st.Seq, "no scheduled sync may start while the token is bad")
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, walks, 3, "one sync of three streams, the 401 not retried: %v", walks)
}

func TestDeleteDuringSyncCancelsItAndEnds(t *testing.T) {
	h := newHarness(t, hourly())
	h.syncLength = func(int) time.Duration { return 2 * time.Hour }
	h.deleteAt(30*time.Minute, true)
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	runs := h.children()
	require.Len(t, runs, 1)
	assert.True(t, runs[0].Canceled, "delete must cancel the running sync")
	assert.Equal(t, []model.PurgeInput{{ConnectionID: connID, Purge: true}}, h.purged)
	assert.Equal(t, 30*time.Minute, h.env.Now().Sub(t0), "the workflow ends at the delete, not at the sync's end")
}
