package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// fakeRecorder hands each heartbeat RPC to the test, which answers it.
type fakeRecorder struct {
	calls   chan []any
	answers chan error
}

func (f *fakeRecorder) RecordActivityHeartbeat(ctx context.Context, _ []byte, details ...any) error {
	f.calls <- details
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
	r.b = newBeater(r.rec, []byte("token"), timeout, func(d any) { r.verdicts <- d }, zerolog.Nop())
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
			select {
			case d := <-r.verdicts:
				require.Equal(t, walkProgress{Pages: 3}, d)
			case <-time.After(10 * time.Second):
				t.Fatal("the server's verdict was not handed to the SDK")
			}
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
	require.Empty(t, r.verdicts, "9 s of silence is within the heartbeat timeout")
	r.endThrottle()
	require.Equal(t, []any{walkProgress{Pages: 1}}, r.call(), "nil details keep the last ones")
	r.advance(2 * time.Second)
	r.answer(serviceerror.NewUnavailable("stalled"))
	select {
	case d := <-r.verdicts:
		require.Equal(t, walkProgress{Pages: 1}, d)
	case <-time.After(10 * time.Second):
		t.Fatal("11 s without a heartbeat reaching the server: the attempt is over, the SDK must be told")
	}
}

func TestBeaterCoalescesHeartbeatsWithinTheThrottle(t *testing.T) {
	r := newBeaterRig(t, time.Minute)
	r.b.record(walkProgress{Pages: 1})
	r.call()
	r.answer(nil)
	r.b.record(walkProgress{Pages: 2})
	r.b.record(walkProgress{Pages: 3})
	r.b.record(nil)
	select {
	case d := <-r.rec.calls:
		t.Fatalf("a heartbeat was sent within the throttle interval: %v", d)
	default:
	}
	r.endThrottle()
	require.Equal(t, []any{walkProgress{Pages: 3}}, r.call())
	r.answer(nil)
	r.b.stop()
	select {
	case d := <-r.rec.calls:
		t.Fatalf("three heartbeats in one throttle interval must make one RPC, a second one was sent: %v", d)
	default:
	}
}

func TestBeaterStopsWithAnRPCInFlight(t *testing.T) {
	r := newBeaterRig(t, time.Minute)
	r.b.record(nil)
	require.Empty(t, r.call(), "no details yet")
	r.b.stop() // the fake returns the cancelled ctx's error
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
		b := newBeater(nil, nil, timeout, nil, zerolog.Nop())
		require.Equal(t, want, b.rpc, "heartbeat timeout %s", timeout)
		b.cancel()
	}
}
