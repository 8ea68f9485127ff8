// Package activities holds the connector's activities: connection checks, the
// page-by-page stream sync, run bookkeeping and token promotion. Dependencies are
// fields of Activities; orchestration policy lives in the workflows package.
package activities

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/conncheck"
	"github.com/sentinelone-connector/s1conn/logging"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/store"
)

// Activities implements every activity; register a pointer to it on the worker.
type Activities struct {
	Store      *store.Store
	Keys       *codec.KeyRing
	Log        zerolog.Logger
	RateLimits []sentinelone.RateLimit // nil = sentinelone.DefaultRateLimits() (95 % of S1's published limits)
	// StreamConcurrency is how many streams a sync walks at once (SYNC_STREAM_CONCURRENCY).
	StreamConcurrency int
	// PageSlots bounds the pages every walk of the worker holds at once (nil: unbounded).
	PageSlots PageSlots
	// PageCommits is how many pages of a walk commit at once (SYNC_PAGE_COMMITS; 0 = the
	// default; SQLite commits one at a time whatever this says).
	PageCommits int
	// CommitSlots bounds the page commits all walks of the worker run at once (nil: unbounded;
	// the worker sizes it SYNC_PAGE_COMMITS). A slot is held by a page from the start of its
	// commit until its walk settles it. Commits never wait for a slot once started, so slots
	// always come back; a walk waiting for one keeps settling its own finished commits.
	CommitSlots PageSlots
	// HeartbeatTimeout of stream walks (SYNC_HEARTBEAT_TIMEOUT; 0 = the workflow's default).
	HeartbeatTimeout time.Duration
	// Temporal starts routed user workflows (nil: workflow routes fail and retry).
	Temporal client.Client
	Version  string
	// OnRequest observes every API request (metrics).
	OnRequest func(connectionID, method, path string, status int, d time.Duration)
	// OnPage observes every committed page (metrics).
	OnPage func(connectionID, stream string, counts store.PageCounts, fetched int)
	// OnRetry, OnRun and OnTokenExpiry observe page retries, finished syncs and token expiry (metrics).
	OnRetry       func(connectionID, stream string)
	OnRun         func(connectionID string, sum model.RunSummary)
	OnTokenExpiry func(connectionID string, expires time.Time)

	// limiters are the client-side rate buckets of each console token on this worker
	// (sha256 of console URL and token → *sentinelone.Limiters): S1 counts requests per
	// token, so every walk and check that uses a token (streams, backfill windows, retries,
	// connections scoped to different sites with the same token) shares one budget and one
	// back-off. A rotated token gets buckets of its own.
	limiters sync.Map
}

// sharedLimiters returns the buckets of token on consoleURL.
func (a *Activities) sharedLimiters(consoleURL, token string) *sentinelone.Limiters {
	key := sha256.Sum256([]byte(consoleURL + "\x00" + token))
	if v, ok := a.limiters.Load(key); ok {
		return v.(*sentinelone.Limiters)
	}
	v, _ := a.limiters.LoadOrStore(key, sentinelone.NewLimiters(a.RateLimits))
	return v.(*sentinelone.Limiters)
}

// connection loads a stored connection and opens its token (active, or pending for rotation).
func (a *Activities) connection(ctx context.Context, id string, pending bool) (*store.Connection, string, error) {
	c, err := a.Store.GetConnection(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", temporal.NewNonRetryableApplicationError(err.Error(), model.ErrTypeNotFound, err)
		}
		return nil, "", err
	}
	sealed, fp := c.TokenSealed, c.TokenFingerprint
	if pending {
		sealed, fp = c.PendingSealed, c.PendingFingerprint
		if sealed == "" {
			return nil, "", temporal.NewNonRetryableApplicationError("no pending token to check: run `starter rotate-token` again", model.ErrTypeRejected, nil)
		}
	}
	tok, err := a.Keys.Open(sealed, id)
	if err != nil {
		return nil, "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("cannot decrypt the token of connection %s (%s): the worker's CONNECTOR_ENCRYPTION_KEY differs from the one that stored it; use the same key ring in every process", id, fp),
			model.ErrTypeConfig, err)
	}
	logging.RegisterSecret(string(tok))
	return c, string(tok), nil
}

func (a *Activities) client(c *store.Connection, token string) (*sentinelone.Client, error) {
	opts := conncheck.ClientOptions(c.ConsoleURL, token, c.Settings, a.RateLimits)
	opts.Limiters = a.sharedLimiters(c.ConsoleURL, token)
	if a.OnRequest != nil {
		id := c.ID
		opts.OnRequest = func(method, path string, status int, d time.Duration) { a.OnRequest(id, method, path, status, d) }
	}
	cl, err := sentinelone.New(opts)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), model.ErrTypeConfig, err)
	}
	return cl, nil
}

// CheckConnection runs the five checks against a stored connection.
func (a *Activities) CheckConnection(ctx context.Context, in model.CheckConnectionInput) (*model.CheckConnectionResult, error) {
	c, tok, err := a.connection(ctx, in.ConnectionID, in.UsePendingToken)
	if err != nil {
		return nil, err
	}
	res := conncheck.Run(ctx, conncheck.Input{ConsoleURL: c.ConsoleURL, Token: tok, Settings: c.Settings, RateLimits: a.RateLimits,
		Limiters: a.sharedLimiters(c.ConsoleURL, tok)})
	if a.OnTokenExpiry != nil && !in.UsePendingToken {
		a.OnTokenExpiry(in.ConnectionID, res.TokenExpiresAt)
	}
	return &res, nil
}

// LoadConnection reads the non-secret configuration the workflow schedules from.
func (a *Activities) LoadConnection(ctx context.Context, in model.LoadConnectionInput) (*model.LoadConnectionResult, error) {
	c, err := a.Store.GetConnection(ctx, in.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return &model.LoadConnectionResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	spec := c.Settings.ScheduleSpec()
	spec.Concurrency = a.StreamConcurrency
	spec.HeartbeatTimeout = a.HeartbeatTimeout
	return &model.LoadConnectionResult{Exists: c.DeletedAt.IsZero(), Schedule: spec}, nil
}

// SetState mirrors the workflow's state into the store.
func (a *Activities) SetState(ctx context.Context, in model.SetStateInput) (*model.Empty, error) {
	if err := a.Store.SetState(ctx, in.ConnectionID, in.State, in.LastError, in.TokenExpires); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return &model.Empty{}, nil
}

// StartRun records the start of a sync.
func (a *Activities) StartRun(ctx context.Context, in model.StartRunInput) (*model.Empty, error) {
	return &model.Empty{}, a.Store.StartRun(ctx, in)
}

// FinishRun records the end of a sync.
func (a *Activities) FinishRun(ctx context.Context, in model.FinishRunInput) (*model.Empty, error) {
	if err := a.Store.FinishRun(ctx, in.ConnectionID, in.Summary); err != nil {
		return nil, err
	}
	if a.OnRun != nil {
		a.OnRun(in.ConnectionID, in.Summary)
	}
	return &model.Empty{}, nil
}

// PromoteToken makes the checked pending token active.
func (a *Activities) PromoteToken(ctx context.Context, in model.PromoteTokenInput) (*model.Empty, error) {
	return &model.Empty{}, a.Store.PromotePendingToken(ctx, in.ConnectionID, in.Fingerprint, in.TokenExpiresAt)
}

// PurgeConnection deletes (purge) or marks deleted a connection.
func (a *Activities) PurgeConnection(ctx context.Context, in model.PurgeInput) (*model.Empty, error) {
	if in.Purge {
		return &model.Empty{}, a.Store.PurgeConnection(ctx, in.ConnectionID)
	}
	if err := a.Store.SetState(ctx, in.ConnectionID, model.StateDeleted, nil, time.Time{}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return &model.Empty{}, nil
}

// PlanSync reports each stream's committed watermark and the connection's lookback.
func (a *Activities) PlanSync(ctx context.Context, in model.PlanSyncInput) (*model.PlanSyncResult, error) {
	c, err := a.Store.GetConnection(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	states, err := a.Store.StreamStates(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	lookback := c.Settings.Lookback
	if lookback <= 0 {
		lookback = model.DefaultLookback
	}
	res := &model.PlanSyncResult{}
	for _, s := range in.Streams {
		p := model.StreamPlan{Stream: s, Lookback: lookback, Windows: c.Settings.BackfillWindows}
		if p.Windows <= 0 {
			p.Windows = model.DefaultBackfillWindows
		}
		for _, st := range states {
			if st.Stream == s {
				p.Watermark = st.Watermark
			}
		}
		res.Streams = append(res.Streams, p)
	}
	return res, nil
}

// SetWatermark moves a stream's watermark forward (the end of its first backfill).
func (a *Activities) SetWatermark(ctx context.Context, in model.SetWatermarkInput) (*model.Empty, error) {
	return &model.Empty{}, a.Store.SetWatermarkIfEarlier(ctx, in.ConnectionID, in.Stream, in.At)
}

// classify turns a console error into a Temporal error: auth and permission problems need a
// human and are non-retryable; a 429 retries after Retry-After; the rest retry by policy.
func classify(stream string, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	switch {
	case sentinelone.IsAuth(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), model.ErrTypeAuth, err)
	case sentinelone.IsPermission(err):
		return temporal.NewNonRetryableApplicationError(err.Error(), model.ErrTypePermission, err)
	case sentinelone.IsRateLimited(err):
		d := sentinelone.RetryAfter(err)
		if d <= 0 {
			return err
		}
		return temporal.NewApplicationErrorWithOptions(err.Error(), "RateLimited", temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
	case sentinelone.IsValidation(err) && !sentinelone.IsInvalidCursor(err):
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %v", stream, err), model.ErrTypeConfig, err)
	}
	return err
}

// heartbeat records progress so the server knows the walk is alive; the durable progress is the
// store's checkpoint. In an activity started withHeartbeats it goes to the activity's beater
// (heartbeat.go); otherwise to the SDK.
//
// The context passed to the SDK must not be one of ours that we cancel: the SDK sends throttled
// heartbeats up to 2 s later from a goroutine holding the ctx of the call that opened the
// throttle window, and when that RPC fails with context.Canceled it cancels the whole activity.
// A walk's pipeline ctx is cancelled when the walk returns, so work that followed a walk in the
// same activity (the alerts status refresh) was cancelled ~2 s in and retried by Temporal: on
// 100k alerts every delta's refresh ran twice (bench: "RecordActivityHeartbeat with error:
// context canceled"). WithoutCancel keeps the activity's values, not our cancellations.
func heartbeat(ctx context.Context, details any) {
	if b, ok := ctx.Value(beaterKey{}).(*beater); ok {
		b.record(details)
		return
	}
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(context.WithoutCancel(ctx), details)
	}
}

// PageSlots is a worker-wide budget of pages in memory (SYNC_MAX_PAGES_IN_FLIGHT). A walk takes
// a slot before it requests a page and gives it back once that page is committed, so memory is
// bounded by the budget, not by connections × streams × backfill windows × pipeline depth. A walk
// needs one slot to make progress, so any budget ≥ 1 is deadlock-free.
type PageSlots chan struct{}

// NewPageSlots returns a budget of n pages.
func NewPageSlots(n int) PageSlots { return make(PageSlots, max(1, n)) }
