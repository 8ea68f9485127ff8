package activities

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// fakeRecorder hands each heartbeat RPC to the test, which answers it.
type fakeRecorder struct {
	calls   chan []any
	answers chan error
}

func (f *fakeRecorder) RecordActivityHeartbeatWithOptions(ctx context.Context, opts client.RecordActivityHeartbeatOptions) error {
	if string(opts.TaskToken) != "token" || opts.WorkflowID != "wf" {
		return fmt.Errorf("heartbeat without the activity's task token and workflow: %+v", opts)
	}
	select {
	case f.calls <- opts.Details:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-f.answers:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type beaterRig struct {
	t        *testing.T
	b        *beater
	rec      *fakeRecorder
	tick     chan time.Time
	verdicts chan any
	mu       sync.Mutex
	clock    time.Time
}

func newBeaterRig(t *testing.T, timeout time.Duration) *beaterRig {
	r := &beaterRig{t: t, rec: &fakeRecorder{calls: make(chan []any), answers: make(chan error)},
		tick: make(chan time.Time), verdicts: make(chan any, 16), clock: time.Unix(1_800_000_000, 0)}
	r.b = newBeater(r.rec, client.RecordActivityHeartbeatOptions{TaskToken: []byte("token"), WorkflowID: "wf"}, timeout, func(d any) { r.verdicts <- d }, zerolog.Nop())
	r.b.after = func(time.Duration) <-chan time.Time { return r.tick }
	r.b.now = func() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.clock }
	go r.b.run()
	t.Cleanup(r.b.stop)
	return r
}

func (r *beaterRig) advance(d time.Duration) {
	r.mu.Lock()
	r.clock = r.clock.Add(d)
	r.mu.Unlock()
}

// call waits for the next heartbeat RPC and returns its details.
func (r *beaterRig) call() []any {
	r.t.Helper()
	select {
	case d := <-r.rec.calls:
		return d
	case <-time.After(10 * time.Second):
		r.t.Fatal("no heartbeat was sent")
		return nil
	}
}

func (r *beaterRig) answer(err error) { r.rec.answers <- err }

// verdict waits for the beater to hand a verdict to the SDK and returns its details.
func (r *beaterRig) verdict(why string) any {
	r.t.Helper()
	select {
	case d := <-r.verdicts:
		return d
	case <-time.After(10 * time.Second):
		r.t.Fatal(why)
		return nil
	}
}

// endThrottle ends the wait after a heartbeat.
func (r *beaterRig) endThrottle() { r.tick <- time.Time{} }

func TestBeaterRidesOutATemporalStall(t *testing.T) {
	r := newBeaterRig(t, time.Minute)
	r.b.record(walkProgress{Pages: 1})
	require.Equal(t, []any{walkProgress{Pages: 1}}, r.call(), "the first heartbeat goes at once")
	r.advance(5 * time.Second)
	r.answer(serviceerror.NewDeadlineExceeded("context deadline exceeded"))
	r.b.record(walkProgress{Pages: 2})
	r.endThrottle()
	require.Equal(t, []any{walkProgress{Pages: 2}}, r.call(), "a failed heartbeat is retried with the latest details")
	r.advance(30 * time.Second)
	r.answer(serviceerror.NewUnavailable("connection refused"))
	r.endThrottle()
	require.Equal(t, []any{walkProgress{Pages: 2}}, r.call(), "retried without new progress")
	r.answer(nil)
	r.b.stop()
	require.Empty(t, r.verdicts, "a stall shorter than the heartbeat timeout must not end the attempt")
}

func TestBeaterHandsCancellationToTheSDK(t *testing.T) {
	for name, err := range map[string]error{
		"cancelled": temporal.NewCanceledError(),
		"paused":    activity.ErrActivityPaused,
		"reset":     activity.ErrActivityReset,
		"not found": serviceerror.NewNotFound("invalid activityID or activity already timed out or invoking workflow is completed"),
	} {
		t.Run(name, func(t *testing.T) {
			r := newBeaterRig(t, time.Minute)
			r.b.record(walkProgress{Pages: 3})
			r.call()
			r.answer(err)
			require.Equal(t, walkProgress{Pages: 3}, r.verdict("the server's verdict was not handed to the SDK"))
		})
	}
}

func TestBeaterGivesUpAfterTheHeartbeatTimeout(t *testing.T) {
	r := newBeaterRig(t, 10*time.Second)
	r.b.record(walkProgress{Pages: 1})
	r.call()
	r.answer(nil)
	r.endThrottle()
	r.b.record(nil)
	r.call()
	r.advance(9 * time.Second)
	r.answer(serviceerror.NewUnavailable("stalled"))
	r.endThrottle() // the beater has handled the failure: it waits no more
	require.Empty(t, r.verdicts, "9 s of silence is within the heartbeat timeout")
	require.Equal(t, []any{walkProgress{Pages: 1}}, r.call(), "nil details keep the last ones")
	r.advance(2 * time.Second)
	r.answer(serviceerror.NewUnavailable("stalled"))
	require.Equal(t, walkProgress{Pages: 1}, r.verdict("11 s without a heartbeat reaching the server: the attempt is over, the SDK must be told"))
	r.endThrottle() // the failed heartbeat is due again: past the timeout it goes to the SDK, not to the server
	require.Equal(t, walkProgress{Pages: 1}, r.verdict("past the heartbeat timeout every heartbeat goes through the SDK"))
}

// A heartbeat due after the timeout has passed does not try the server first: the server has
// already given the attempt up. (The fake's RPC blocks until the test reads it, so a beater that
// sent one would never reach the verdict.)
func TestBeaterGivesUpWithoutWaitingForAnRPC(t *testing.T) {
	r := newBeaterRig(t, 10*time.Second)
	r.b.record(walkProgress{Pages: 1})
	r.call()
	r.answer(nil)
	r.advance(10 * time.Second) // a long page: nothing to heartbeat for 10 s
	r.endThrottle()
	r.b.record(walkProgress{Pages: 2})
	require.Equal(t, walkProgress{Pages: 2}, r.verdict("the heartbeat timeout had passed: the verdict must go to the SDK at once"))
}

func TestBeaterCoalescesHeartbeatsWithinTheThrottle(t *testing.T) {
	r := newBeaterRig(t, time.Minute)
	r.b.record(walkProgress{Pages: 1})
	r.call()
	r.answer(nil)
	r.b.record(walkProgress{Pages: 2})
	r.b.record(walkProgress{Pages: 3})
	r.b.record(nil)
	// The beater waits for the throttle (the test's tick), so nothing reads wake meanwhile.
	require.Len(t, r.b.wake, 1, "three heartbeats within the throttle interval wait as one")
	r.endThrottle()
	require.Equal(t, []any{walkProgress{Pages: 3}}, r.call(), "the latest details")
	r.answer(nil)
	require.Len(t, r.b.wake, 0, "no second heartbeat is due: the three made one RPC")
}

func TestBeaterStopsWithAnRPCInFlight(t *testing.T) {
	r := newBeaterRig(t, time.Minute)
	r.b.record(nil)
	require.Empty(t, r.call(), "no details yet")
	r.advance(2 * time.Minute) // were the error taken for a failed heartbeat, this would be past the timeout
	r.b.stop()                 // the fake returns the cancelled ctx's error
	require.Empty(t, r.verdicts, "an activity that returned is not ended again")
}

func TestBeaterRPCDeadline(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		0:                heartbeatRPCMax,
		10 * time.Minute: heartbeatRPCMax,
		time.Minute:      15 * time.Second,
		20 * time.Second: 5 * time.Second,
		2 * time.Second:  heartbeatRPCMin,
	} {
		b := newBeater(nil, client.RecordActivityHeartbeatOptions{}, timeout, nil, zerolog.Nop())
		require.Equal(t, want, b.rpc, "heartbeat timeout %s", timeout)
		b.cancel()
	}
}
