package workflows_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/workflows"
)

const walkTime = 10 * time.Minute // each stream walk's length on the test clock

// syncHarness runs SyncWorkflow alone with a SyncStream mock that takes walkTime and fails the
// streams named in fail with the given error.
type syncHarness struct {
	env      *testsuite.TestWorkflowEnvironment
	mu       sync.Mutex
	inputs   []model.SyncStreamInput
	starts   map[string]time.Time
	ends     map[string]time.Time
	started  []model.StartRunInput
	finished []model.FinishRunInput
	// plans answers PlanSync; streams not listed have a committed watermark (no backfill).
	plans      map[string]model.StreamPlan
	watermarks []model.SetWatermarkInput
	heartbeats []time.Duration // HeartbeatTimeout of every SyncStream activity started
}

func newSyncHarness(t *testing.T, fail map[string]error) *syncHarness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(20 * time.Second)
	h := &syncHarness{env: env, starts: map[string]time.Time{}, ends: map[string]time.Time{}, plans: map[string]model.StreamPlan{}}
	env.RegisterActivityWithOptions(func(_ context.Context, in model.PlanSyncInput) (model.PlanSyncResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		var res model.PlanSyncResult
		for _, s := range in.Streams {
			p, ok := h.plans[s]
			if !ok {
				p = model.StreamPlan{Stream: s, Watermark: t0.Add(-time.Hour), Lookback: 14 * 24 * time.Hour}
			}
			res.Streams = append(res.Streams, p)
		}
		return res, nil
	}, activity.RegisterOptions{Name: model.ActivityPlanSync})
	env.RegisterActivityWithOptions(func(context.Context, model.DeliverOutboxInput) (model.DeliverOutboxResult, error) {
		return model.DeliverOutboxResult{}, nil
	}, activity.RegisterOptions{Name: model.ActivityDeliverOutbox})
	env.RegisterActivityWithOptions(func(_ context.Context, in model.SetWatermarkInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.watermarks = append(h.watermarks, in)
		return nil
	}, activity.RegisterOptions{Name: model.ActivitySetWatermark})
	env.RegisterWorkflowWithOptions(workflows.SyncWorkflow, workflow.RegisterOptions{Name: model.SyncWorkflowName})
	env.RegisterActivityWithOptions(func(_ context.Context, in model.StartRunInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.started = append(h.started, in)
		return nil
	}, activity.RegisterOptions{Name: model.ActivityStartRun})
	env.RegisterActivityWithOptions(func(_ context.Context, in model.FinishRunInput) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.finished = append(h.finished, in)
		return nil
	}, activity.RegisterOptions{Name: model.ActivityFinishRun})
	env.RegisterActivityWithOptions(func(context.Context, model.SyncStreamInput) (model.StreamResult, error) {
		panic("replaced by the mock")
	}, activity.RegisterOptions{Name: model.ActivitySyncStream})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name != model.ActivitySyncStream {
			return
		}
		var in model.SyncStreamInput
		assert.NoError(t, args.Get(&in))
		h.mu.Lock()
		defer h.mu.Unlock()
		h.inputs = append(h.inputs, in)
		h.heartbeats = append(h.heartbeats, info.HeartbeatTimeout)
		if in.Window == nil {
			h.starts[in.Stream] = env.Now()
		}
	})
	env.OnActivity(model.ActivitySyncStream, mock.Anything, mock.Anything).After(walkTime).Return(
		func(_ context.Context, in model.SyncStreamInput) (model.StreamResult, error) {
			h.mu.Lock()
			if in.Window == nil {
				h.ends[in.Stream] = env.Now()
			}
			h.mu.Unlock()
			if err := fail[in.Stream]; err != nil {
				return model.StreamResult{}, err
			}
			return model.StreamResult{Stream: in.Stream, Mode: in.Mode, Pages: 2, Fetched: 150, Inserted: 150}, nil
		})
	return h
}

func (h *syncHarness) run(t *testing.T, in model.SyncWorkflowInput) model.RunSummary {
	t.Helper()
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: model.SyncWorkflowID(in.ConnectionID, in.Seq)})
	h.env.ExecuteWorkflow(model.SyncWorkflowName, in)
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var res model.SyncWorkflowResult
	require.NoError(t, h.env.GetWorkflowResult(&res))
	return res.Summary
}

// maxInFlight is the largest number of walks running at one instant.
func (h *syncHarness) maxInFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	type ev struct {
		at    time.Time
		delta int
	}
	var evs []ev
	for s, st := range h.starts {
		evs = append(evs, ev{st, +1}, ev{h.ends[s], -1})
	}
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].at.Equal(evs[j].at) {
			return evs[i].at.Before(evs[j].at)
		}
		return evs[i].delta < evs[j].delta // an end and a start at the same instant do not overlap
	})
	n, most := 0, 0
	for _, e := range evs {
		n += e.delta
		most = max(most, n)
	}
	return most
}

func TestSyncWorkflowWalksEveryStreamWithBoundedConcurrency(t *testing.T) {
	h := newSyncHarness(t, nil)
	in := model.SyncWorkflowInput{ConnectionID: connID, Seq: 7, Streams: model.AllStreams, Mode: model.ModeDelta, Concurrency: 2}
	sum := h.run(t, in)

	assert.Equal(t, model.RunSuccess, sum.Status)
	assert.Nil(t, sum.Error)
	assert.Equal(t, int64(7), sum.Seq)
	assert.Equal(t, model.SyncWorkflowID(connID, 7), sum.WorkflowID)
	assert.Equal(t, model.ModeDelta, sum.Mode)
	require.Len(t, sum.Streams, len(model.AllStreams))
	for i, s := range model.AllStreams {
		assert.Equal(t, s, sum.Streams[i].Stream, "results keep the input's stream order")
		assert.Equal(t, int64(150), sum.Streams[i].Fetched)
	}
	assert.Equal(t, t0, sum.StartedAt)
	assert.Equal(t, 3*walkTime, sum.FinishedAt.Sub(sum.StartedAt), "6 walks, 2 at a time, 10m each")

	h.mu.Lock()
	require.Len(t, h.inputs, len(model.AllStreams))
	for _, w := range h.inputs {
		assert.Equal(t, workflows.WalkID(connID, 7, w.Stream), w.WalkID)
		assert.Equal(t, connID, w.ConnectionID)
		assert.Equal(t, model.ModeDelta, w.Mode)
		assert.Nil(t, w.Window, "streams with a watermark are not backfilled")
	}
	require.Len(t, h.started, 1)
	assert.Equal(t, model.StartRunInput{ConnectionID: connID, Seq: 7, WorkflowID: model.SyncWorkflowID(connID, 7),
		Mode: model.ModeDelta, Streams: model.AllStreams}, h.started[0])
	require.Len(t, h.finished, 1)
	assert.Equal(t, sum, h.finished[0].Summary, "FinishRun records the returned summary")
	h.mu.Unlock()
	assert.Equal(t, 2, h.maxInFlight())
}

func TestSyncWorkflowDefaultConcurrencyIsThree(t *testing.T) {
	h := newSyncHarness(t, nil)
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 1, Streams: model.AllStreams, Mode: model.ModeFull})
	assert.Equal(t, model.RunSuccess, sum.Status)
	assert.Equal(t, 3, h.maxInFlight())
	assert.Equal(t, 2*walkTime, sum.FinishedAt.Sub(sum.StartedAt))
}

// The walks' heartbeat timeout is the worker's SYNC_HEARTBEAT_TIMEOUT carried in the input, one
// minute when unset (histories recorded before the field existed replay with the default).
func TestSyncWorkflowHeartbeatTimeout(t *testing.T) {
	for _, c := range []struct{ in, want time.Duration }{{0, time.Minute}, {15 * time.Second, 15 * time.Second}} {
		h := newSyncHarness(t, nil)
		sum := h.run(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 1, Streams: []string{model.StreamAgents, model.StreamXDRAssets},
			Mode: model.ModeDelta, HeartbeatTimeout: c.in})
		assert.Equal(t, model.RunSuccess, sum.Status)
		h.mu.Lock()
		assert.Equal(t, []time.Duration{c.want, c.want}, h.heartbeats, "input %s", c.in)
		h.mu.Unlock()
	}
}

func TestSyncWorkflowAuthFailure(t *testing.T) {
	h := newSyncHarness(t, map[string]error{
		model.StreamXDRAssets: temporal.NewNonRetryableApplicationError("401 Unauthorized", model.ErrTypeAuth, nil),
		model.StreamAgents:    temporal.NewNonRetryableApplicationError("403 Forbidden", model.ErrTypePermission, nil),
	})
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 3, Streams: []string{model.StreamAgents, model.StreamXDRAssets, model.StreamApplications},
		Mode: model.ModeDelta})

	assert.Equal(t, model.RunAuthFailed, sum.Status, "a 401 on any stream makes the run auth_failed")
	require.NotNil(t, sum.Error)
	assert.Equal(t, model.ErrTypeAuth, sum.Error.Type, "the 401 wins over the earlier 403")
	assert.Equal(t, model.StreamXDRAssets, sum.Error.Stream)
	assert.Contains(t, sum.Error.Remediation, "rotate-token")
	require.Len(t, sum.Streams, 3)
	assert.Nil(t, sum.Streams[2].Error)
	h.env.AssertActivityNumberOfCalls(t, model.ActivitySyncStream, 3) // non-retryable: no second attempt
	require.Len(t, h.finished, 1)
	assert.Equal(t, model.RunAuthFailed, h.finished[0].Summary.Status)
}

func TestSyncWorkflowOneFailingStreamIsPartial(t *testing.T) {
	h := newSyncHarness(t, map[string]error{
		model.StreamApplications: temporal.NewNonRetryableApplicationError("403 Forbidden", model.ErrTypePermission, nil),
	})
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 4, Streams: []string{model.StreamAgents, model.StreamXDRAssets, model.StreamApplications},
		Mode: model.ModeDelta})

	assert.Equal(t, model.RunPartial, sum.Status)
	require.NotNil(t, sum.Error)
	assert.Equal(t, model.ErrTypePermission, sum.Error.Type)
	assert.Equal(t, model.StreamApplications, sum.Error.Stream)
	assert.NotEmpty(t, sum.Error.Remediation)
	require.Len(t, sum.Streams, 3)
	assert.Nil(t, sum.Streams[0].Error)
	assert.Nil(t, sum.Streams[1].Error)
	require.NotNil(t, sum.Streams[2].Error)
	assert.Equal(t, model.StreamApplications, sum.Streams[2].Stream)
}

func TestSyncWorkflowAllStreamsFailingIsFailed(t *testing.T) {
	cfg := temporal.NewNonRetryableApplicationError("bad filter", model.ErrTypeConfig, nil)
	h := newSyncHarness(t, map[string]error{model.StreamAgents: cfg, model.StreamThreats: cfg})
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: connID, Seq: 5, Streams: []string{model.StreamAgents, model.StreamThreats}, Mode: model.ModeFull})
	assert.Equal(t, model.RunFailed, sum.Status)
	require.NotNil(t, sum.Error)
	assert.Equal(t, model.ErrTypeConfig, sum.Error.Type)
}

func TestSyncWorkflowFirstSyncBackfillsLookbackInParallelWindows(t *testing.T) {
	h := newSyncHarness(t, nil)
	h.plans[model.StreamThreats] = model.StreamPlan{Stream: model.StreamThreats, Lookback: 10 * 24 * time.Hour, Windows: 10} // no watermark yet
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: "c1", Seq: 1, Streams: []string{model.StreamThreats, model.StreamAgents}, Mode: model.ModeFull})
	require.Equal(t, model.RunSuccess, sum.Status)

	var windows []model.SyncStreamInput
	var deltas []string
	for _, in := range h.inputs {
		if in.Window != nil {
			windows = append(windows, in)
			require.Equal(t, model.StreamThreats, in.Stream)
			require.Equal(t, model.ModeBackfill, in.Mode)
			require.NotEmpty(t, in.Checkpoint)
		} else {
			deltas = append(deltas, in.Stream)
		}
	}
	require.Len(t, windows, 10, "the plan's window count")
	// The windows tile [t0-10d, t0) exactly, each with its own walk ID and checkpoint.
	seen := map[string]bool{}
	cover := time.Duration(0)
	for _, w := range windows {
		require.False(t, seen[w.WalkID])
		seen[w.WalkID] = true
		require.False(t, seen[w.Checkpoint])
		seen[w.Checkpoint] = true
		cover += w.Window.To.Sub(w.Window.From)
		require.False(t, w.Window.From.Before(t0.Add(-10*24*time.Hour)))
		require.False(t, w.Window.To.After(t0))
	}
	require.Equal(t, 10*24*time.Hour, cover)
	require.ElementsMatch(t, []string{model.StreamThreats, model.StreamAgents}, deltas, "the delta walk follows the backfill")
	require.Equal(t, []model.SetWatermarkInput{{ConnectionID: "c1", Stream: model.StreamThreats, At: t0}}, h.watermarks)
	// Results add up: 10 windows and one delta of 150 records each.
	for _, r := range sum.Streams {
		if r.Stream == model.StreamThreats {
			require.Equal(t, int64(11*150), r.Fetched)
			require.Equal(t, 10, r.Windows)
		}
	}
}

func TestSyncWorkflowRequestedBackfillDoesNotMoveWatermark(t *testing.T) {
	h := newSyncHarness(t, nil)
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: "c1", Seq: 2, Streams: []string{model.StreamAlerts}, Mode: model.ModeDelta, Backfill: 30 * 24 * time.Hour})
	require.Equal(t, model.RunSuccess, sum.Status)
	n := 0
	for _, in := range h.inputs {
		if in.Window != nil {
			n++
		}
	}
	require.Equal(t, model.DefaultBackfillWindows, n, "a plan without a window count gets the default")
	require.Empty(t, h.watermarks, "a requested backfill re-reads; the committed watermark stays")
}

// A sync that started before the backfill-windows change replays with its day windows.
func TestSyncWorkflowBeforeWindowsVersionKeepsDayWindows(t *testing.T) {
	h := newSyncHarness(t, nil)
	h.env.OnGetVersion("backfill-windows", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.plans[model.StreamAlerts] = model.StreamPlan{Stream: model.StreamAlerts, Lookback: 12 * 24 * time.Hour, Windows: 3}
	sum := h.run(t, model.SyncWorkflowInput{ConnectionID: "c1", Seq: 1, Streams: []string{model.StreamAlerts}, Mode: model.ModeDelta})
	require.Equal(t, model.RunSuccess, sum.Status)
	n := 0
	for _, in := range h.inputs {
		if in.Window != nil {
			n++
		}
	}
	require.Equal(t, 12, n, "one window per day, as before the change")
}

func TestSplitWindows(t *testing.T) {
	from := t0.Add(-90 * 24 * time.Hour)
	for _, n := range []int{1, 2, 7, workflows.MaxBackfillWindows} {
		ws := workflows.SplitWindows(from, t0, n)
		require.Len(t, ws, n)
		require.Equal(t, from, ws[0].From)
		require.Equal(t, t0, ws[len(ws)-1].To)
		for i := 1; i < len(ws); i++ {
			require.Equal(t, ws[i-1].To, ws[i].From, "contiguous, half-open")
		}
	}
	require.Len(t, workflows.SplitWindows(from, t0, 1000), workflows.MaxBackfillWindows)
	require.Len(t, workflows.SplitWindows(from, t0, 0), 1)
	require.Empty(t, workflows.SplitWindows(t0, t0, 2))
	// No window is shorter than a minute (checkpoints are named after a window's start second).
	require.Len(t, workflows.SplitWindows(t0.Add(-time.Second), t0, 2), 1)
	require.Len(t, workflows.SplitWindows(t0.Add(-3*time.Minute), t0, 64), 3)
	// The plan of workflows started before the change: one window per day, at most 64.
	require.Len(t, workflows.SplitDayWindows(from, t0), workflows.MaxBackfillWindows)
	require.Len(t, workflows.SplitDayWindows(t0.Add(-30*24*time.Hour), t0), 30)
	require.Len(t, workflows.SplitDayWindows(t0.Add(-time.Hour), t0), 1)
}
