package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/routing"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/store"
)

// streamSpec is how one stream is fetched, transformed and stored.
type streamSpec struct {
	Path       string
	SortBy     string
	DeltaParam string     // e.g. updatedAt__gt; the watermark (minus overlap) goes here
	Defaults   url.Values // parameters sent unless the connection's filters set them
	// WindowField is the createdAt filter prefix a backfill window bounds (windowed streams).
	WindowField string
	// WindowSort is the sort of a backfill window's walk.
	WindowSort string
	Transform  func(raw json.RawMessage, m ocsf.Meta) (store.Record, error)
	// PageTransform, when set, transforms a whole page (for joins and batched lookups).
	// Records it cannot read go to pc.reject (the quarantine), not into an error.
	PageTransform func(ctx context.Context, pc *pageCtx, data []json.RawMessage) ([]store.Record, error)
	// SingleScope: the endpoint takes one accountId/siteId per request; several are walked in turn.
	SingleScope bool
	// Walk replaces the generic page walk (streams walked as a worklist, e.g. applications).
	Walk func(ctx context.Context, a *Activities, client *sentinelone.Client, conn *store.Connection, table store.Table,
		in model.SyncStreamInput, ckpt string, params url.Values, cursor *string, meta ocsf.Meta, res *model.StreamResult) error
}

var streams = map[string]streamSpec{
	model.StreamAgents: {
		Path: "/agents", SortBy: "updatedAt", DeltaParam: "updatedAt__gt",
		// A mirror keeps decommissioned endpoints too (flagged), not only active ones.
		Defaults: url.Values{"isDecommissioned": {"true,false"}},
		Transform: func(raw json.RawMessage, m ocsf.Meta) (store.Record, error) {
			r, err := ocsf.Agent(raw, m)
			if err != nil {
				return store.Record{}, err
			}
			return store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: r.UpdatedAt, Raw: raw, OCSF: r.Event, Flat: r.Flat.Values()}, nil
		},
	},
}

func init() {
	streams[model.StreamThreats] = streamSpec{
		Path: "/threats", SortBy: "updatedAt", DeltaParam: "updatedAt__gt", WindowField: "createdAt", WindowSort: "createdAt",
		Transform: func(raw json.RawMessage, m ocsf.Meta) (store.Record, error) {
			r, err := ocsf.Threat(raw, m)
			if err != nil {
				return store.Record{}, err
			}
			return store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: r.UpdatedAt, Raw: raw, OCSF: r.Event, Flat: r.Flat.Values(),
				Status: r.Flat.Status, Attrs: map[string]string{"status": r.Flat.Status, "confidence": r.Flat.ConfidenceLevel,
					"severity": threatSeverity(r.Flat.ConfidenceLevel)}}, nil
		},
	}
	// Alerts have no updatedAt filter: the delta bound is alertInfo.createdAt (so the watermark
	// is the newest createdAt), and status changes are caught by re-reading unresolved alerts.
	streams[model.StreamAlerts] = streamSpec{
		Path: "/cloud-detection/alerts", SortBy: "alertInfoCreatedAt", DeltaParam: "createdAt__gte", WindowField: "createdAt", WindowSort: "alertInfoCreatedAt",
		Transform: func(raw json.RawMessage, m ocsf.Meta) (store.Record, error) {
			r, err := ocsf.Alert(raw, m)
			if err != nil {
				return store.Record{}, err
			}
			wm := r.UpdatedAt
			if r.Flat.CreatedAt != nil {
				wm = *r.Flat.CreatedAt
			}
			return store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: wm, Raw: raw, OCSF: r.Event, Flat: r.Flat.Values(),
				Status: r.Flat.Status, Attrs: map[string]string{"status": r.Flat.Status, "severity": r.Flat.RuleSeverity}}, nil
		},
	}
}

// threatSeverity maps a threat's confidence to the severity words route filters use.
func threatSeverity(confidence string) string {
	switch strings.ToLower(confidence) {
	case "malicious":
		return "high"
	case "suspicious":
		return "medium"
	}
	return "unknown"
}

// router returns the function deciding which of the connection's routes a change fires, or
// nil when the stream has none. Backfilled records are routed only when asked.
func router(conn *store.Connection, stream string, backfill, routeBackfill bool) func(*store.Record, string) []string {
	routes := conn.Settings.Routes[stream]
	if len(routes) == 0 || (backfill && !routeBackfill && !conn.Settings.RouteBackfill) {
		return nil
	}
	return func(r *store.Record, trigger string) []string {
		var ids []string
		for i, rt := range routes {
			if routing.Matches(rt, trigger, r.Attrs) {
				ids = append(ids, routing.ID(stream, i, rt))
			}
		}
		return ids
	}
}

// walkProgress is the heartbeat detail of SyncStream (informational; the store holds the checkpoint).
type walkProgress struct {
	Pages   int64
	Fetched int64
}

// pageMsg carries a fetched page from the fetching goroutine to the committing loop, with
// the walk cursor that continues after it ("" = the walk is complete).
type pageMsg struct {
	page *sentinelone.Page
	next string
	recs []store.Record      // the transformed page
	bad  []store.Quarantined // its records the transform could not read
	err  error               // why it could not be transformed
}

// pageCtx is what page-level transforms may use (joins, lookups, caches).
type pageCtx struct {
	a         *Activities
	conn      *store.Connection
	client    *sentinelone.Client
	meta      ocsf.Meta
	walkStart time.Time
	cves      map[string]*ocsf.CVEDetail // CVE details parsed during this walk (vulnerabilities)
	stream    string
	bad       []store.Quarantined // the page's unreadable records (reset per page)
}

// transformPage turns a page of console records into store records. A record the transform
// cannot read is returned as quarantined — kept exactly as received, with the reason — so one
// bad record neither stops the walk nor disappears.
func transformPage(ctx context.Context, spec streamSpec, pc *pageCtx, data []json.RawMessage) ([]store.Record, []store.Quarantined, error) {
	pc.bad = nil
	if spec.PageTransform != nil {
		recs, err := spec.PageTransform(ctx, pc, data)
		return recs, pc.bad, err
	}
	recs := make([]store.Record, 0, len(data))
	for _, raw := range data {
		r, err := spec.Transform(raw, pc.meta)
		if err != nil {
			pc.reject(raw, err)
			continue
		}
		recs = append(recs, r)
	}
	return recs, pc.bad, nil
}

// reject quarantines a record of the page being transformed.
func (pc *pageCtx) reject(raw json.RawMessage, err error) {
	pc.bad = append(pc.bad, store.Quarantined{Stream: pc.stream, Key: quarantineKey(raw), Raw: raw, Error: err.Error()})
}

// logQuarantined reports a record kept in the quarantine.
func (a *Activities) logQuarantined(connID string, q store.Quarantined) {
	a.Log.Warn().Str("connection", connID).Str("stream", q.Stream).Str("key", q.Key).Str("reason", q.Error).
		Msg("record quarantined: the console sent a record this version cannot read; it is kept as received (starter export --quarantine) and the sync goes on")
}

// quarantineKey is the record's key as far as it can be read (top-level id, alertInfo.alertId),
// else a hash of its bytes: a later good version of the record clears it by that key.
func quarantineKey(raw json.RawMessage) string {
	var k struct {
		ID        json.RawMessage `json:"id"`
		AlertInfo struct {
			AlertID json.RawMessage `json:"alertId"`
		} `json:"alertInfo"`
	}
	if json.Unmarshal(raw, &k) == nil {
		for _, v := range []json.RawMessage{k.ID, k.AlertInfo.AlertID} {
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				return s
			}
			var n json.Number
			if json.Unmarshal(v, &n) == nil && n != "" {
				return n.String()
			}
		}
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// scopeParams splits a walk over endpoints that accept a single account or site ID into one
// walk per ID (the walk's cursor remembers which); other endpoints walk once.
func scopeParams(spec streamSpec, params url.Values) []url.Values {
	if !spec.SingleScope {
		return []url.Values{params}
	}
	for _, key := range []string{"siteIds", "accountIds"} {
		ids := strings.Split(params.Get(key), ",")
		if params.Get(key) == "" || len(ids) < 2 {
			continue
		}
		out := make([]url.Values, 0, len(ids))
		for _, id := range ids {
			v := url.Values{}
			for k, vals := range params {
				v[k] = append([]string(nil), vals...)
			}
			v.Set(key, id)
			out = append(out, v)
		}
		return out
	}
	return []url.Values{params}
}

// scopedCursor encodes the cursor continuing after a page of scope i of n ("" = done).
func scopedCursor(i int, next string, n int) string {
	if n == 1 {
		return next
	}
	if next == "" {
		if i+1 >= n {
			return ""
		}
		return "s" + strconv.Itoa(i+1) + "|"
	}
	return "s" + strconv.Itoa(i) + "|" + next
}

func parseScopedCursor(c string, n int) (int, string) {
	if n == 1 || !strings.HasPrefix(c, "s") {
		return 0, c
	}
	idx, rest, ok := strings.Cut(c[1:], "|")
	i, err := strconv.Atoi(idx)
	if !ok || err != nil || i < 0 || i >= n {
		return 0, ""
	}
	return i, rest
}

// SyncStream brings one stream up to date. It walks the stream's pages with filters pinned,
// committing each page with its checkpoint in one transaction while the next page is already
// being fetched. A retry with the same WalkID resumes after the last committed page.
func (a *Activities) SyncStream(ctx context.Context, in model.SyncStreamInput) (*model.StreamResult, error) {
	ctx, stop := a.withHeartbeats(ctx)
	defer stop()
	start := time.Now()
	spec, ok := streams[in.Stream]
	if !ok {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("stream %q is not supported by this worker", in.Stream), model.ErrTypeConfig, nil)
	}
	table, ok := store.TableFor(in.Stream)
	if !ok {
		return nil, fmt.Errorf("stream %q has no table", in.Stream)
	}
	conn, tok, err := a.connection(ctx, in.ConnectionID, false)
	if err != nil {
		return nil, err
	}
	client, err := a.client(conn, tok)
	if err != nil {
		return nil, err
	}
	cur, err := a.Store.StreamStates(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	mode := in.Mode
	var watermark time.Time
	begun := false // this walk already began (a retried activity): BeginWalk keeps its params
	for _, st := range cur {
		if st.Stream == in.Stream {
			watermark = st.Watermark
			begun = in.WalkID != "" && (st.WalkID == in.WalkID || st.LastWalkID == in.WalkID && st.WalkID == "")
		}
	}
	windowed := model.IsWindowed(in.Stream)
	switch {
	case in.Window != nil:
		mode = model.ModeBackfill
	case in.Stream == model.StreamApplications:
		mode = model.ModeFull // the inventory has no delta filter: every walk is a full worklist
	case windowed:
		mode = model.ModeDelta // event streams have no reconcile; their lookback is walked by backfill windows
	case watermark.IsZero():
		mode = model.ModeFull // nothing committed yet: a delta has nothing to start from
	}
	ckpt := in.Stream
	if in.Checkpoint != "" {
		ckpt = in.Checkpoint
	}
	params, err := walkParams(spec, conn.Settings, in.Stream, mode, watermark, in.Window)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), model.ErrTypeConfig, err)
	}
	if in.Stream == model.StreamAlerts && in.Window == nil && mode == model.ModeDelta && !begun {
		if err := a.widenAlertsDelta(ctx, table, conn, params, in.SyncStartedAt); err != nil {
			return nil, err
		}
	}
	st, resumed, err := a.Store.BeginWalk(ctx, in.ConnectionID, ckpt, in.WalkID, mode, params.Encode())
	if err != nil {
		return nil, err
	}
	if resumed {
		mode = st.WalkMode
		if params, err = url.ParseQuery(st.WalkParams); err != nil {
			return nil, fmt.Errorf("stored walk params of %s are corrupt: %w", in.Stream, err)
		}
	}
	res := &model.StreamResult{Stream: in.Stream, Mode: mode, Resumed: resumed, Pages: st.WalkPages, Fetched: st.WalkFetched,
		Inserted: st.WalkInserted, Updated: st.WalkUpdated, Unchanged: st.WalkUnchanged, Watermark: st.Watermark,
		TotalItems: st.WalkTotal}
	if st.Completed {
		// The walk's last page was committed but the activity did not report back: report it, walk
		// nothing — but finish the idempotent after-walk steps, which may be what failed.
		res.Removed = st.WalkRemoved
		if err := a.afterWalk(ctx, client, spec, table, conn, in, mode, st.WalkStartedAt, ocsf.Meta{ConnectionID: in.ConnectionID,
			ConsoleURL: conn.ConsoleURL, ProductVersion: a.Version}, res); err != nil {
			return nil, classify(in.Stream, err)
		}
		return finish(res, start), nil
	}
	meta := ocsf.Meta{ConnectionID: in.ConnectionID, ConsoleURL: conn.ConsoleURL, ProductVersion: a.Version}
	log := a.Log.With().Str("connection", in.ConnectionID).Str("stream", in.Stream).Str("walk", in.WalkID).Str("mode", mode).Logger()
	log.Info().Bool("resumed", resumed).Str("params", params.Encode()).Msg("stream walk starting")

	cursor := st.WalkCursor
	resets, failures := 0, 0
	for {
		pagesBefore := res.Pages
		if spec.Walk != nil {
			err = spec.Walk(ctx, a, client, conn, table, in, ckpt, params, &cursor, meta, res)
		} else {
			err = a.walk(ctx, client, conn, spec, table, in, ckpt, mode, params, &cursor, meta, st.WalkStartedAt, res)
		}
		if err == nil {
			break
		}
		if res.Pages > pagesBefore {
			failures = 0 // progress was made: transient errors start counting again
		}
		switch {
		case sentinelone.IsInvalidCursor(err) && cursor != "" && resets < 2:
			// The console no longer accepts the saved cursor: restart from the pinned filters.
			resets++
			log.Warn().Err(err).Msg("saved cursor rejected; restarting the walk from its first page (stored rows make re-read pages idempotent)")
			if rerr := a.Store.ResetWalkCursor(ctx, in.ConnectionID, ckpt, in.WalkID); rerr != nil {
				return nil, rerr
			}
			cursor = ""
			continue
		case sentinelone.IsRetryable(err) && ctx.Err() == nil && failures < maxPageRetries:
			// A flaky console (5xx, 429, dropped or truncated bodies) is retried here, from the last
			// committed cursor, before the activity gives up to Temporal's retry policy.
			failures++
			if a.OnRetry != nil {
				a.OnRetry(in.ConnectionID, in.Stream)
			}
			wait := retryWait(failures, err)
			log.Debug().Err(err).Int("failure", failures).Dur("wait", wait).Msg("page failed; retrying from the last committed cursor")
			if serr := sleepCtx(ctx, wait); serr != nil {
				return nil, serr
			}
			heartbeat(ctx, walkProgress{Pages: res.Pages, Fetched: res.Fetched})
			continue
		}
		if errors.Is(err, sentinelone.ErrRepeatedCursor) {
			_ = a.Store.ResetWalkCursor(ctx, in.ConnectionID, ckpt, in.WalkID)
		}
		return nil, classify(in.Stream, err)
	}
	if err := a.afterWalk(ctx, client, spec, table, conn, in, mode, st.WalkStartedAt, meta, res); err != nil {
		return nil, classify(in.Stream, err)
	}
	log.Info().Int64("pages", res.Pages).Int64("fetched", res.Fetched).Int64("inserted", res.Inserted).
		Int64("updated", res.Updated).Int64("removed", res.Removed).Msg("stream walk finished")
	return finish(res, start), nil
}

// afterWalk runs the idempotent steps that follow a finished walk: the alerts' status refresh,
// and rewriting vulnerabilities a full reconcile no longer saw into their FIXED final state.
func (a *Activities) afterWalk(ctx context.Context, client *sentinelone.Client, spec streamSpec, table store.Table,
	conn *store.Connection, in model.SyncStreamInput, mode string, walkStart time.Time, meta ocsf.Meta, res *model.StreamResult) error {
	if in.Stream == model.StreamAlerts && in.Window == nil {
		if err := a.refreshAlerts(ctx, client, spec, table, conn, in.SyncStartedAt, meta, res); err != nil {
			return err
		}
	}
	if in.Stream == model.StreamVulnerabilities && mode == model.ModeFull {
		meta.Now = time.Now().UTC()
		if _, err := a.resolveVanished(ctx, conn, client, meta, walkStart); err != nil {
			return err
		}
	}
	return nil
}

// In-activity retries of transient page failures before Temporal's retry policy takes over.
const (
	maxPageRetries = 8
	pageBackoff    = 250 * time.Millisecond
	maxPageBackoff = 8 * time.Second
)

// retryTransient runs fn, retrying transient console failures (5xx, 429, dropped or truncated
// bodies) as walk pages are retried: backoff honouring Retry-After, at most maxPageRetries in a
// row, heartbeating between tries. Requests outside a walk (the alerts' status refresh) use it,
// so one failed request does not fail the whole activity and start it over.
func retryTransient(ctx context.Context, fn func() error, onRetry func()) error {
	for failures := 0; ; {
		err := fn()
		if err == nil || !sentinelone.IsRetryable(err) || ctx.Err() != nil || failures >= maxPageRetries {
			return err
		}
		failures++
		if onRetry != nil {
			onRetry()
		}
		if err := sleepCtx(ctx, retryWait(failures, err)); err != nil {
			return err
		}
		heartbeat(ctx, nil)
	}
}

// retryWait is the pause before the failures-th retry of a transient console failure:
// exponential from pageBackoff up to maxPageBackoff, or the console's Retry-After (≤ 1 min).
func retryWait(failures int, err error) time.Duration {
	if ra := sentinelone.RetryAfter(err); ra > 0 {
		return min(ra, time.Minute)
	}
	return min(maxPageBackoff, pageBackoff<<(failures-1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func finish(r *model.StreamResult, start time.Time) *model.StreamResult {
	r.Duration = time.Since(start)
	return r
}

// walk runs a three-stage pipeline: one goroutine fetches and decodes pages, a second
// transforms them (OCSF, flat rows, page joins), and this loop commits them in order. While
// page N commits, page N+1 is transformed and page N+2 fetched; a CPU profile of the serial
// version (bench/results.md) showed fetch+decode, transform and the PostgreSQL commit each
// taking a third of the walk. On PostgreSQL up to SYNC_PAGE_COMMITS (2) pages commit at once,
// each on its own connection, the later one moving the checkpoint only after the earlier one
// committed (store/pending.go); in a delta, a page that finds nothing of the walk committing
// is committed in as many parts the same way (splitRecords).
// Unbuffered hand-offs and the worker's page slots bound the memory.
func (a *Activities) walk(ctx context.Context, client *sentinelone.Client, conn *store.Connection, spec streamSpec, table store.Table,
	in model.SyncStreamInput, ckpt, mode string, params url.Values, cursor *string, meta ocsf.Meta, walkStart time.Time, res *model.StreamResult) error {
	slots := &slotHolder{slots: a.PageSlots}
	defer slots.releaseAll() // after the stages stopped: whatever pages they still held
	var wg sync.WaitGroup
	defer wg.Wait() // no stage outlives the walk (a retried walk must not race an old one)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fetched := make(chan pageMsg)
	ready := make(chan pageMsg)
	fetchErr := make(chan error, 1)
	scopes := scopeParams(spec, params)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(fetched)
		defer recoverStage(in.Stream, "fetch", func(err error) { fetchErr <- err })
		start, inner := parseScopedCursor(*cursor, len(scopes))
		for i := start; i < len(scopes); i++ {
			c := inner
			if i > start {
				c = ""
			}
			if err := slots.acquire(ctx); err != nil { // the slot of the walk's next page
				fetchErr <- err
				return
			}
			err := client.Walk(ctx, spec.Path, scopes[i], c, func(p *sentinelone.Page) error {
				heartbeat(ctx, nil) // fetching is progress too
				select {
				case fetched <- pageMsg{page: p, next: scopedCursor(i, p.NextCursor, len(scopes))}:
				case <-ctx.Done():
					return ctx.Err()
				}
				if p.NextCursor == "" {
					return nil
				}
				return slots.acquire(ctx) // before Walk requests the next page
			})
			if err != nil {
				fetchErr <- err
				return
			}
		}
		fetchErr <- nil
	}()
	go func() {
		defer wg.Done()
		defer close(ready)
		var msg pageMsg
		defer recoverStage(in.Stream, "transform", func(err error) {
			msg.err = err
			select {
			case ready <- msg:
			case <-ctx.Done():
			}
		})
		pc := &pageCtx{a: a, conn: conn, client: client, walkStart: walkStart, stream: in.Stream}
		for msg = range fetched {
			meta.Now = time.Now().UTC()
			meta.ValidJSON = msg.page.Valid // the page's body was checked once: not each record again
			pc.meta = meta
			msg.recs, msg.bad, msg.err = transformPage(ctx, spec, pc, msg.page.Data)
			select {
			case ready <- msg:
			case <-ctx.Done():
				return
			}
			if msg.err != nil {
				return
			}
		}
	}()
	full := mode == model.ModeFull
	route := router(conn, in.Stream, mode == model.ModeBackfill, in.RouteBackfill)
	// Up to Store.PageCommits pages commit at once, each waiting for the one before it to commit
	// before it moves the checkpoint (store/pending.go). They are settled here in walk order.
	var queue []pendingPage
	var parts store.PageCounts // the committed parts of the page being committed in parts
	settle := func() error {
		f := queue[0]
		queue = queue[1:]
		pc, err := f.commit.Wait()
		if a.CommitSlots != nil {
			<-a.CommitSlots // the commit is over: another walk's page may start
		}
		if err != nil {
			if errors.Is(err, store.ErrWalkSuperseded) {
				return temporal.NewNonRetryableApplicationError(err.Error(), "Superseded", err)
			}
			return err
		}
		res.Inserted += pc.Inserted
		res.Updated += pc.Updated
		res.Unchanged += pc.Unchanged
		res.Removed += pc.Removed
		res.Quarantined += pc.Quarantined
		if f.part {
			parts = addCounts(parts, pc) // the page's last part reports the whole page
			return nil
		}
		pc = addCounts(parts, pc)
		parts = store.PageCounts{}
		slots.release() // the page is committed: its memory can go
		p := f.msg.page
		*cursor = f.msg.next
		res.Pages++
		res.Fetched += int64(len(p.Data))
		res.TotalItems = p.TotalItems
		res.Watermark = pc.Watermark
		if a.OnPage != nil {
			a.OnPage(in.ConnectionID, in.Stream, pc, len(p.Data))
		}
		heartbeat(ctx, walkProgress{Pages: res.Pages, Fetched: res.Fetched})
		return nil
	}
	// fail settles the pages still committing (so the cursor and the counts say what was
	// committed) and returns the walk's first error.
	fail := func(err error) error {
		earlier := false
		for len(queue) > 0 {
			if serr := settle(); serr != nil && !earlier {
				err, earlier = serr, true // an earlier page failed first (later ones rolled back after it)
			}
		}
		return err
	}
	limit := a.Store.PageCommits(a.PageCommits)
	beat := time.NewTicker(waitBeat)
	defer beat.Stop()
	for {
		// A finished commit is settled at once, whether or not another page is ready: it holds a
		// page slot, and the walk's next page (or another walk's) may be waiting for that slot.
		recv := ready
		if len(queue) >= limit {
			recv = nil // the next page waits for a commit to finish
		}
		var msg pageMsg
		var ok bool
		select {
		case <-oldestDone(queue):
			if err := settle(); err != nil {
				return fail(err)
			}
			continue
		case msg, ok = <-recv:
		}
		if !ok {
			break
		}
		res.Requests++
		if err := msg.err; err != nil {
			return fail(err) // lookups (CVE details, hosts) failed: retryable; a stage panic is not
		}
		for _, q := range msg.bad {
			a.logQuarantined(in.ConnectionID, q)
		}
		keys := msg.keys()
		// Two pending pages must not share a record key: the later one would hold that row's
		// lock while it waits for the earlier one, which may need it (store/pending.go).
		for len(queue) > 0 && anyShares(queue, keys) {
			if err := settle(); err != nil {
				return fail(err)
			}
		}
		chunks := [][]store.Record{msg.recs}
		if mode == model.ModeDelta && len(queue) == 0 && len(msg.bad) == 0 && len(keys) == len(msg.recs) {
			chunks = splitRecords(msg.recs, limit)
		}
		for j, recs := range chunks {
			// The worker's commit budget (shared by all its walks): wait for a slot, settling this
			// walk's finished commits meanwhile (they may be what the budget waits for).
			for a.CommitSlots != nil {
				select {
				case a.CommitSlots <- struct{}{}:
				case <-oldestDone(queue):
					if err := settle(); err != nil {
						return fail(err)
					}
					continue
				case <-beat.C:
					heartbeat(ctx, nil) // other walks hold the budget
					continue
				case <-ctx.Done():
					return fail(ctx.Err())
				}
				break
			}
			var prev *store.PendingCommit
			if len(queue) > 0 {
				prev = queue[len(queue)-1].commit
			}
			part := j < len(chunks)-1
			fetched := int64(len(msg.page.Data)) // the page's, counted with its last part
			if part {
				fetched = 0
			}
			p := &store.Page{ConnectionID: in.ConnectionID, Table: table, Checkpoint: ckpt, WalkID: in.WalkID, Full: full,
				NextCursor: msg.next, TotalItems: msg.page.TotalItems, Fetched: fetched, Records: recs,
				Quarantined: msg.bad, Router: route, Prev: prev, Part: part}
			queue = append(queue, pendingPage{commit: a.Store.StartCommit(ctx, p), msg: msg, keys: keys, part: part})
		}
	}
	if err := fail(nil); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // the transform stage stopped early: the walk did not finish
	}
	if err := <-fetchErr; err != nil {
		return err
	}
	return nil
}

// pendingPage is a page of a walk whose commit is running.
type pendingPage struct {
	commit *store.PendingCommit
	msg    pageMsg
	keys   map[string]struct{} // the whole page's, also for a part
	part   bool                // a part of the page before its last (store.Page.Part)
}

// partMinRecords is the smallest part a page is split into. A delta's page of changed rows
// is one delete and COPY (store/pgwrite.go), one PostgreSQL backend's work; split over the
// walk's commit slots, the parts write on as many backends at once (BenchmarkCommitPageAgents,
// 1,000 changed agents on the 2-core Intel host: 195 ms in one commit, 117 ms in two parts,
// 122 ms in four; with the multi-row upsert before it 300, 190 and 178 ms). Only delta
// walks split, and only a page that finds nothing of its walk committing: full walks and
// backfills write new rows by COPY or only mark unchanged ones seen, where a part's extra
// transaction costs more than it saves (make bench, 377k vulnerability rows, split whenever the
// queue was empty: 8,501 → 5,898 rec/s).
const partMinRecords = 250

// splitRecords cuts a page's records (unique keys) into at most n parts of at least
// partMinRecords each.
func splitRecords(recs []store.Record, n int) [][]store.Record {
	n = min(n, len(recs)/partMinRecords)
	if n <= 1 {
		return [][]store.Record{recs}
	}
	out := make([][]store.Record, 0, n)
	for i := range n {
		out = append(out, recs[i*len(recs)/n:(i+1)*len(recs)/n])
	}
	return out
}

// addCounts sums what the parts of a page committed; the watermark is the later one's.
func addCounts(a, b store.PageCounts) store.PageCounts {
	b.Inserted += a.Inserted
	b.Updated += a.Updated
	b.Unchanged += a.Unchanged
	b.Removed += a.Removed
	b.Routed += a.Routed
	b.Quarantined += a.Quarantined
	return b
}

// oldestDone is closed when the walk's oldest pending commit is over (nil, never ready, when
// none is pending).
func oldestDone(queue []pendingPage) <-chan struct{} {
	if len(queue) == 0 {
		return nil
	}
	return queue[0].commit.Done()
}

// keys are the record keys a page's commit locks: its records' and its quarantined records'.
func (m *pageMsg) keys() map[string]struct{} {
	k := make(map[string]struct{}, len(m.recs)+len(m.bad))
	for i := range m.recs {
		k[m.recs[i].Key] = struct{}{}
	}
	for i := range m.bad {
		k[m.bad[i].Key] = struct{}{}
	}
	return k
}

func (p pendingPage) sharesKey(keys map[string]struct{}) bool {
	small, big := keys, p.keys
	if len(small) > len(big) {
		small, big = big, small
	}
	for k := range small {
		if _, ok := big[k]; ok {
			return true
		}
	}
	return false
}

func anyShares(queue []pendingPage, keys map[string]struct{}) bool {
	for _, p := range queue {
		if p.sharesKey(keys) {
			return true
		}
	}
	return false
}

// waitBeat is how often a walk waiting for a page or commit slot heartbeats: well inside the
// shortest SYNC_HEARTBEAT_TIMEOUT (10s).
const waitBeat = 2 * time.Second

// slotHolder is one walk's share of the worker's page budget.
type slotHolder struct {
	slots PageSlots
	held  atomic.Int64
}

// acquire takes a slot, heartbeating while it waits (the other walks hold the budget).
func (h *slotHolder) acquire(ctx context.Context) error {
	if h.slots == nil {
		return nil
	}
	t := time.NewTicker(waitBeat)
	defer t.Stop()
	for {
		select {
		case h.slots <- struct{}{}:
			h.held.Add(1)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			heartbeat(ctx, nil)
		}
	}
}

func (h *slotHolder) release() {
	if h.slots == nil || h.held.Load() == 0 {
		return
	}
	h.held.Add(-1)
	<-h.slots
}

func (h *slotHolder) releaseAll() {
	for h.held.Load() > 0 {
		h.release()
	}
}

// recoverStage turns a panic in a pipeline goroutine into the walk's error: outside the
// activity's own goroutine the SDK cannot recover it, and it would take the worker down.
func recoverStage(stream, stage string, report func(error)) {
	if r := recover(); r != nil {
		report(temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s %s stage panicked: %v; the walk stopped before this page so nothing is lost — report this", stream, stage, r),
			"Panic", nil))
	}
}

// walkParams pins a walk's query: page size, sort, scope, the stream's filters and the delta bound.
func walkParams(spec streamSpec, s model.ConnectionSettings, stream, mode string, watermark time.Time, win *model.Window) (url.Values, error) {
	v := url.Values{}
	for k, val := range spec.Defaults {
		v[k] = append([]string(nil), val...)
	}
	for k, val := range s.Filters[stream] {
		v.Set(k, val)
	}
	v.Set("limit", "1000")
	if spec.SortBy != "" {
		v.Set("sortBy", spec.SortBy)
		v.Set("sortOrder", "asc")
	}
	if len(s.AccountIDs) > 0 {
		v.Set("accountIds", strings.Join(s.AccountIDs, ","))
	}
	if len(s.SiteIDs) > 0 {
		v.Set("siteIds", strings.Join(s.SiteIDs, ","))
	}
	if win != nil {
		v.Set(spec.WindowField+"__gte", win.From.UTC().Format(apiTimeLayout))
		v.Set(spec.WindowField+"__lt", win.To.UTC().Format(apiTimeLayout))
		if spec.WindowSort != "" {
			v.Set("sortBy", spec.WindowSort)
		}
		return v, nil
	}
	if mode == model.ModeDelta && spec.DeltaParam != "" && !watermark.IsZero() {
		overlap := s.Overlap
		if overlap == 0 {
			overlap = model.DefaultOverlap
		}
		v.Set(spec.DeltaParam, watermark.Add(-overlap).UTC().Format(apiTimeLayout))
	}
	return v, nil
}

// apiTimeLayout is how walks send timestamps in filters (S1's own form, microseconds, UTC).
const apiTimeLayout = "2006-01-02T15:04:05.000000Z"

var _ = activity.GetInfo

// refreshWindow is a connection's alerts status-refresh window.
func refreshWindow(s model.ConnectionSettings) time.Duration {
	if s.AlertRefresh > 0 {
		return s.AlertRefresh
	}
	return model.DefaultAlertRefresh
}

// widenAlertsDelta starts an alerts delta walk at the start of the status-refresh window when
// walking the whole window costs fewer requests than re-reading its unresolved alerts by ID
// (at most refreshBatch IDs a request, against 1,000 alerts a page). The walk then re-reads
// every alert of the window, resolved ones too, through the pipelined page commits (unchanged
// rows are only marked seen), and the refresh after it re-reads by ID only what the walk did
// not see. bench: 100k alerts over 29 days, 7,238 of them unresolved in the 72 h window: the
// refresh alone was 29 requests (28% of the full sync's 102); the widened delta is 11 in all.
func (a *Activities) widenAlertsDelta(ctx context.Context, table store.Table, conn *store.Connection, params url.Values, syncStart time.Time) error {
	from, err := time.Parse(apiTimeLayout, params.Get("createdAt__gte"))
	if err != nil {
		return nil // no delta bound (nothing committed yet): the walk reads everything anyway
	}
	if syncStart.IsZero() {
		return nil // the refresh cannot tell what the walk saw: widening would only add pages
	}
	since := time.Now().UTC().Add(-refreshWindow(conn.Settings))
	// Never before the stored history (a lookback shorter than the window): alerts older than
	// what the backfill stored are not ours to add, nor to route as new.
	oldest, err := a.Store.Earliest(ctx, table, conn.ID, "created_at")
	if err != nil {
		return err
	}
	if oldest.IsZero() {
		return nil
	}
	if oldest.After(since) {
		since = oldest
	}
	if !since.Before(from) {
		return nil // the delta walk covers the window already
	}
	// Alerts from `from` on are walked either way: compare the costs of the rest of the window.
	// As in the refresh, alerts this sync already read (its backfill) need no second look.
	unresolved, err := a.Store.Count(ctx, table, conn.ID, "UPPER(incident_status) <> 'RESOLVED' AND created_at >= ? AND created_at < ? AND last_seen_at < ?",
		since, from, syncStart.UTC())
	if err != nil {
		return err
	}
	inWindow, err := a.Store.Count(ctx, table, conn.ID, "created_at >= ? AND created_at < ?", since, from)
	if err != nil {
		return err
	}
	if windowWalkCheaper(inWindow, unresolved) {
		params.Set("createdAt__gte", since.Format(apiTimeLayout))
	}
	return nil
}

// windowWalkCheaper: walking inWindow alerts (1,000 a page) takes fewer requests than
// re-reading unresolved of them by ID (refreshBatch a request).
func windowWalkCheaper(inWindow, unresolved int64) bool {
	return (inWindow+999)/1000 < (unresolved+refreshBatch-1)/refreshBatch
}

// refreshBatch is how many alert IDs one refresh request asks for: 250 IDs of 18-19 digits
// keep the request line near 5 KB, under the 8 KB limit common to proxies and load balancers.
const refreshBatch = 250

// refreshAlerts re-reads, by ID, the stored alerts that are not resolved and were created within
// the refresh window: the alerts API cannot filter on updatedAt, so this is how status and
// verdict changes of recent alerts are seen. Alerts this sync already read (since syncStart)
// are current and skipped: a first sync's backfill re-read 12,000 alerts it had just fetched.
// When widenAlertsDelta widened the delta walk, the walk read the window and little is left.
// A resolved alert is re-read only by a widened walk: a reopened alert, or a verdict set on a
// resolved one, is seen on the syncs whose walk covers its creation time.
func (a *Activities) refreshAlerts(ctx context.Context, client *sentinelone.Client, spec streamSpec, table store.Table,
	conn *store.Connection, syncStart time.Time, meta ocsf.Meta, res *model.StreamResult) error {
	since := time.Now().UTC().Add(-refreshWindow(conn.Settings))
	cond, args := "UPPER(incident_status) <> 'RESOLVED' AND created_at >= ?", []any{since}
	if !syncStart.IsZero() {
		cond += " AND last_seen_at < ?"
		args = append(args, syncStart.UTC())
	}
	keys, err := a.Store.Keys(ctx, table, conn.ID, cond, args...)
	if err != nil {
		return err
	}
	for start := 0; start < len(keys); start += refreshBatch {
		ids := keys[start:min(start+refreshBatch, len(keys))]
		var p *sentinelone.Page
		err := retryTransient(ctx, func() (err error) {
			p, err = client.List(ctx, spec.Path, url.Values{"ids": {strings.Join(ids, ",")}, "limit": {"1000"}})
			return err
		}, func() {
			if a.OnRetry != nil {
				a.OnRetry(conn.ID, model.StreamAlerts)
			}
		})
		if err != nil {
			return err
		}
		res.Requests++
		meta.Now = time.Now().UTC()
		meta.ValidJSON = p.Valid
		recs := make([]store.Record, 0, len(p.Data))
		var bad []store.Quarantined
		for _, raw := range p.Data {
			r, err := spec.Transform(raw, meta)
			if err != nil {
				// As in walks: kept as received, not dropped, and the refresh goes on.
				q := store.Quarantined{Stream: model.StreamAlerts, Key: quarantineKey(raw), Raw: raw, Error: err.Error()}
				a.logQuarantined(conn.ID, q)
				bad = append(bad, q)
				continue
			}
			recs = append(recs, r)
		}
		pc, err := a.Store.UpsertRecords(ctx, table, conn.ID, recs, router(conn, model.StreamAlerts, false, false))
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			if err := a.Store.Quarantine(ctx, model.StreamAlerts, conn.ID, bad); err != nil {
				return err
			}
			res.Quarantined += int64(len(bad))
		}
		res.Refreshed += int64(len(recs))
		res.Updated += pc.Updated
		res.Inserted += pc.Inserted
		heartbeat(ctx, walkProgress{Pages: res.Pages, Fetched: res.Fetched})
	}
	return nil
}
