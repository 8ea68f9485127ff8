package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Long activities (stream walks, the outbox drain) send their heartbeats themselves, through
// the worker's client and the activity's task token, rather than through
// activity.RecordHeartbeat.
//
// The SDK gives its heartbeat RPC only the throttle interval (max(throttle, 1 s), sdk v1.50.0
// internalHeartBeat) and cancels the activity when that RPC fails with a retryable error. The
// worker throttles heartbeats to 2 s so that a pause or delete reaches a walk within 2 s, so any
// Temporal stall over 2 s cancelled every running walk, although the server would have waited
// for a heartbeat for the whole heartbeat timeout (a minute by default). The benchmark saw it in
// every threats full sync and in two of three vulnerability syncs ("RecordActivityHeartbeat with
// error ... context deadline exceeded"): the walks resumed from their checkpoints, but re-read the
// pages they had in flight (threats: 206 requests for 200 pages) and redid the rest of the attempt.
//
// A beater keeps the SDK's cadence: the first heartbeat at once, then at most one every
// heartbeatEvery, carrying the latest details. But a heartbeat that fails is only logged and retried,
// until no heartbeat has reached the server for the activity's whole heartbeat timeout. Only then
// has the server given up on this attempt. The beater never cancels anything itself. When the
// server says the attempt is over (a cancellation from a pause or delete, a pause or reset of the
// activity, or NotFound: the attempt timed out), or its heartbeat timeout has passed without an
// answer, the beater hands the verdict to the SDK by heartbeating through it once. The SDK asks
// the server again and cancels the activity with the server's answer as the cause. So a
// cancelled walk still reports "canceled" to its workflow, as it did when the SDK sent every
// heartbeat.
const (
	// heartbeatEvery is the most often a long activity heartbeats: a pause or delete reaches a
	// walk this long after its previous heartbeat at most.
	heartbeatEvery = 2 * time.Second
	// heartbeatRPCMax bounds one heartbeat RPC; a heartbeat timeout under 4× this gives each
	// RPC a quarter of it, so a stall is logged (and retried) several times before the server gives up.
	heartbeatRPCMax = 15 * time.Second
	heartbeatRPCMin = time.Second
)

// heartbeatRecorder is the part of client.Client a beater uses.
type heartbeatRecorder interface {
	RecordActivityHeartbeatWithOptions(ctx context.Context, opts client.RecordActivityHeartbeatOptions) error
}

type beaterKey struct{}

// beater sends one activity attempt's heartbeats.
type beater struct {
	rec     heartbeatRecorder
	opts    client.RecordActivityHeartbeatOptions // the task token and the activity's identity; Details set per send
	timeout time.Duration                         // the attempt's heartbeat timeout; 0: none (failures are only logged)
	rpc     time.Duration                         // the deadline of one heartbeat RPC
	verdict func(details any)
	log     zerolog.Logger
	after   func(time.Duration) <-chan time.Time
	now     func() time.Time

	mu      sync.Mutex
	details any

	wake   chan struct{} // a heartbeat is due (capacity 1: heartbeats between two sends coalesce)
	base   context.Context
	cancel context.CancelFunc // stops the beater: cancels an RPC in flight
	done   chan struct{}
}

func newBeater(rec heartbeatRecorder, opts client.RecordActivityHeartbeatOptions, timeout time.Duration, verdict func(any), log zerolog.Logger) *beater {
	rpc := heartbeatRPCMax
	if timeout > 0 {
		rpc = min(max(timeout/4, heartbeatRPCMin), heartbeatRPCMax)
	}
	base, cancel := context.WithCancel(context.Background())
	return &beater{rec: rec, opts: opts, timeout: timeout, rpc: rpc, verdict: verdict, log: log,
		after: time.After, now: time.Now, wake: make(chan struct{}, 1), base: base, cancel: cancel, done: make(chan struct{})}
}

// withHeartbeats starts the beater of the activity running in ctx. heartbeat(ctx, ...) then goes
// through it. Call stop when the activity returns: it waits for the beater to end. Outside a
// worker (no client, or not an activity: tests) heartbeats go through the SDK.
func (a *Activities) withHeartbeats(ctx context.Context) (context.Context, func()) {
	if a.Temporal == nil || !activity.IsActivity(ctx) {
		return ctx, func() {}
	}
	info := activity.GetInfo(ctx)
	sdk := context.WithoutCancel(ctx) // see heartbeat: the SDK must not see our cancellations
	log := a.Log.With().Str("activity", info.ActivityType.Name).Str("workflow", info.WorkflowExecution.ID).
		Int32("attempt", info.Attempt).Logger()
	// The SDK's own heartbeats name the workflow (the request's resource ID, for routing) and
	// give the codec the activity's serialization context: so do ours.
	opts := client.RecordActivityHeartbeatOptions{TaskToken: info.TaskToken, WorkflowID: info.WorkflowExecution.ID,
		ActivityType: info.ActivityType.Name, WorkflowType: info.WorkflowType.Name, TaskQueue: info.TaskQueue}
	b := newBeater(a.Temporal, opts, info.HeartbeatTimeout, func(d any) { activity.RecordHeartbeat(sdk, d) }, log)
	go b.run()
	return context.WithValue(ctx, beaterKey{}, b), b.stop
}

// record notes that the activity made progress; details (nil: keep the last ones) go with the
// next heartbeat. It never blocks. Details are encoded when they are sent, from another
// goroutine: pass values, not pointers to state that keeps changing.
func (b *beater) record(details any) {
	if details != nil {
		b.mu.Lock()
		b.details = details
		b.mu.Unlock()
	}
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *beater) stop() {
	b.cancel()
	<-b.done
}

// run sends the heartbeats. lastOK is when the last heartbeat that reached the server was
// sent (the attempt's start before the first): the server has seen nothing since, and gives the
// attempt up heartbeatTimeout after it. So does the beater, at that moment and not later: an
// RPC is given no more than the time left, and a heartbeat due after that hands the verdict to
// the SDK without trying. Otherwise a walk cut off from Temporal would go on writing for up to
// an RPC and a throttle interval after the server had started its next attempt elsewhere.
// Once the timeout has passed, every heartbeat goes through the SDK: should the server answer
// it after all, the attempt is alive and the SDK keeps it so; if not, the SDK cancels it.
func (b *beater) run() {
	defer close(b.done)
	lastOK := b.now()
	for {
		select {
		case <-b.wake:
		case <-b.base.Done():
			return
		}
		b.mu.Lock()
		details := b.details
		b.mu.Unlock()
		rpc := b.rpc
		if b.timeout > 0 {
			left := b.timeout - b.now().Sub(lastOK)
			if left <= 0 {
				b.verdict(details)
				if !b.throttle() {
					return
				}
				continue
			}
			rpc = min(rpc, left)
		}
		sent := b.now()
		err := b.send(details, rpc)
		switch {
		case err == nil:
			lastOK = sent
		case b.base.Err() != nil:
			return // the activity returned while the RPC was in flight
		case attemptOver(err):
			b.log.Info().Err(err).Msg("Temporal ended this activity attempt (cancelled, paused, reset or timed out); passing it to the SDK")
			b.verdict(details)
		default:
			silent := b.now().Sub(lastOK)
			if b.timeout > 0 && silent >= b.timeout {
				b.log.Error().Err(err).Dur("silent", silent).Dur("heartbeatTimeout", b.timeout).
					Msg("no heartbeat reached Temporal for the heartbeat timeout: the server retries this attempt elsewhere, so this one stops (its work resumes from the last committed checkpoint)")
				b.verdict(details)
			} else {
				b.log.Warn().Err(err).Dur("silent", silent).Dur("heartbeatTimeout", b.timeout).
					Msg("heartbeat did not reach Temporal; the activity goes on and the next heartbeat retries (the server retries the attempt only after the heartbeat timeout)")
			}
			b.record(nil) // retried with the latest details after the throttle interval
		}
		if !b.throttle() {
			return
		}
	}
}

// throttle waits heartbeatEvery; false: the beater was stopped meanwhile.
func (b *beater) throttle() bool {
	select {
	case <-b.after(heartbeatEvery):
		return true
	case <-b.base.Done():
		return false
	}
}

func (b *beater) send(details any, rpc time.Duration) error {
	ctx, cancel := context.WithTimeout(b.base, rpc)
	defer cancel()
	opts := b.opts
	if details != nil {
		opts.Details = []any{details}
	}
	return b.rec.RecordActivityHeartbeatWithOptions(ctx, opts)
}

// attemptOver reports whether a heartbeat's error is the server's word that this attempt is
// over: retrying it cannot help. The SDK cancels an activity on the same errors.
func attemptOver(err error) bool {
	var canceled *temporal.CanceledError
	var notFound *serviceerror.NotFound
	var nsNotFound *serviceerror.NamespaceNotFound
	var nsNotActive *serviceerror.NamespaceNotActive
	return errors.As(err, &canceled) || errors.Is(err, activity.ErrActivityPaused) || errors.Is(err, activity.ErrActivityReset) ||
		errors.As(err, &notFound) || errors.As(err, &nsNotFound) || errors.As(err, &nsNotActive)
}
