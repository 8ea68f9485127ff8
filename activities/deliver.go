package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/routing"
	"github.com/sentinelone-connector/s1conn/store"
)

// Delivery tuning.
const (
	drainBatch          = 100
	drainConcurrency    = 8
	drainMaxDuration    = 10 * time.Minute
	defaultMaxAttempts  = 8
	maxDeliveryBackoff  = 5 * time.Minute
	webhookTimeout      = 15 * time.Second
	maxWebhookBodyBytes = 4 << 20
)

// DeliverOutbox drains the connection's routed detections: it starts user workflows (with an
// ID derived from the record and its content hash, so a retry never starts one twice) and
// POSTs signed webhooks, retrying with backoff and dead-lettering after the route's budget.
// Deliveries still waiting for a retry when the drain's time is up stay queued for the next sync.
func (a *Activities) DeliverOutbox(ctx context.Context, in model.DeliverOutboxInput) (*model.DeliverOutboxResult, error) {
	ctx, stop := a.withHeartbeats(ctx)
	defer stop()
	conn, err := a.Store.GetConnection(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	routes := map[string]model.Route{}
	for stream, list := range conn.Settings.Routes {
		for i, r := range list {
			routes[routing.ID(stream, i, r)] = r
		}
	}
	res := &model.DeliverOutboxResult{}
	deadline := time.Now().Add(drainMaxDuration)
	for time.Now().Before(deadline) {
		rows, err := a.Store.DueOutbox(ctx, in.ConnectionID, drainBatch)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			next, err := a.Store.NextOutboxDue(ctx, in.ConnectionID)
			if err != nil {
				return nil, err
			}
			if next.IsZero() || next.After(deadline) {
				break
			}
			heartbeat(ctx, *res) // a copy: the beater encodes it later, while the next batch updates res
			if err := sleepCtx(ctx, min(time.Until(next)+10*time.Millisecond, 5*time.Second)); err != nil {
				return nil, err
			}
			continue
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, drainConcurrency)
		for _, row := range rows {
			wg.Add(1)
			sem <- struct{}{}
			go func(row store.OutboxRow) {
				defer func() { <-sem; wg.Done() }()
				route, ok := routes[row.RouteID]
				var derr error
				if !ok {
					derr = fmt.Errorf("route %s is no longer configured", row.RouteID)
				} else {
					derr = a.deliver(ctx, conn, route, row)
				}
				outcome := a.record(ctx, route, row, derr)
				heartbeat(ctx, nil) // each delivery is progress: a slow endpoint must not time the drain out
				mu.Lock()
				defer mu.Unlock()
				switch outcome {
				case "delivered":
					res.Delivered++
				case "dead":
					res.Dead++
				default:
					res.Retrying++
				}
			}(row)
		}
		wg.Wait()
		heartbeat(ctx, *res) // a copy: the beater encodes it later, while the next batch updates res
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if res.Dead > 0 {
		a.Log.Warn().Str("connection", in.ConnectionID).Int("dead", res.Dead).Msg("routed deliveries dead-lettered: see `starter status`")
	}
	return res, nil
}

// record stores a delivery's outcome and returns "delivered", "retry" or "dead".
func (a *Activities) record(ctx context.Context, route model.Route, row store.OutboxRow, derr error) string {
	if derr == nil {
		if err := a.Store.MarkDelivered(ctx, row.ID); err != nil {
			a.Log.Error().Err(err).Int64("delivery", row.ID).Msg("recording a delivery")
		}
		return "delivered"
	}
	maxAttempts := defaultMaxAttempts
	if route.Webhook != nil && route.Webhook.MaxAttempts > 0 {
		maxAttempts = route.Webhook.MaxAttempts
	}
	attempt := row.Attempts + 1
	dead := attempt >= maxAttempts
	backoff := min(maxDeliveryBackoff, time.Second<<min(attempt-1, 20))
	if err := a.Store.MarkFailed(ctx, row.ID, derr.Error(), time.Now().Add(backoff), dead); err != nil {
		a.Log.Error().Err(err).Int64("delivery", row.ID).Msg("recording a failed delivery")
	}
	a.Log.Warn().Err(derr).Int64("delivery", row.ID).Str("route", row.RouteID).Int("attempt", attempt).Bool("deadLettered", dead).Msg("delivery failed")
	if dead {
		return "dead"
	}
	return "retry"
}

func (a *Activities) deliver(ctx context.Context, conn *store.Connection, route model.Route, row store.OutboxRow) error {
	ev := model.RouteEvent{DeliveryID: row.ID, ConnectionID: conn.ID, Stream: row.Stream, RouteID: row.RouteID, Trigger: row.Trigger,
		RecordKey: row.RecordKey, ContentHash: row.ContentHash, OCSF: json.RawMessage(row.OCSF), Raw: json.RawMessage(row.Raw)}
	if route.Workflow != nil {
		return a.startWorkflow(ctx, route.Workflow, row, ev)
	}
	return deliverWebhook(ctx, route.Webhook, row, ev)
}

// RouteWorkflowID is the user workflow's ID for one routed change: the same change always maps
// to the same ID, so starting it again (a retried drain, a re-synced page) is a no-op.
func RouteWorkflowID(connID string, row store.OutboxRow) string {
	h := sha256.Sum256([]byte(row.RouteID + "\x00" + row.ContentHash))
	id := fmt.Sprintf("route:%s:%s:%s:%s", connID, row.Stream, row.RecordKey, hex.EncodeToString(h[:8]))
	if row.Generation > 0 {
		id += ":replay" + strconv.FormatInt(row.Generation, 10)
	}
	return id
}

func (a *Activities) startWorkflow(ctx context.Context, dest *model.WorkflowDest, row store.OutboxRow, ev model.RouteEvent) error {
	if a.Temporal == nil {
		return errors.New("the worker has no Temporal client for workflow routes")
	}
	c := a.Temporal
	if dest.Namespace != "" {
		nc, err := client.NewClientFromExisting(a.Temporal, client.Options{Namespace: dest.Namespace})
		if err != nil {
			return fmt.Errorf("client for namespace %s: %w", dest.Namespace, err)
		}
		defer nc.Close()
		c = nc
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       RouteWorkflowID(ev.ConnectionID, row),
		TaskQueue:                dest.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, dest.Type, ev)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // started by an earlier attempt: exactly once
	}
	if err != nil {
		return fmt.Errorf("starting %s on %s: %w", dest.Type, dest.TaskQueue, err)
	}
	return nil
}

// webhookBody is what a webhook receives.
type webhookBody struct {
	DeliveryID   int64           `json:"deliveryId"`
	ConnectionID string          `json:"connectionId"`
	Stream       string          `json:"stream"`
	Route        string          `json:"route"`
	Trigger      string          `json:"trigger"`
	RecordKey    string          `json:"recordKey"`
	ContentHash  string          `json:"contentHash"`
	Event        json.RawMessage `json:"event"`
}

var (
	webhookClientsMu sync.Mutex
	webhookClients   = map[string]*http.Client{}
)

func webhookClient(caPEM string) (*http.Client, error) {
	webhookClientsMu.Lock()
	defer webhookClientsMu.Unlock()
	if c, ok := webhookClients[caPEM]; ok {
		return c, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(caPEM)) {
			return nil, errors.New("the webhook CA holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	c := &http.Client{Timeout: webhookTimeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	webhookClients[caPEM] = c
	return c, nil
}

func deliverWebhook(ctx context.Context, w *model.WebhookDest, row store.OutboxRow, ev model.RouteEvent) error {
	secret, ok := os.LookupEnv(w.SecretEnv)
	if !ok || secret == "" {
		return fmt.Errorf("the worker's environment has no %s (the webhook's HMAC secret)", w.SecretEnv)
	}
	body, err := json.Marshal(webhookBody{DeliveryID: row.ID, ConnectionID: ev.ConnectionID, Stream: ev.Stream, Route: ev.RouteID,
		Trigger: ev.Trigger, RecordKey: ev.RecordKey, ContentHash: ev.ContentHash, Event: ev.OCSF})
	if err != nil {
		return err
	}
	c, err := webhookClient(w.CAPEM)
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "s1conn-webhook/1")
	req.Header.Set(routing.HeaderTimestamp, ts)
	req.Header.Set(routing.HeaderDelivery, strconv.FormatInt(row.ID, 10))
	req.Header.Set(routing.HeaderSignature, routing.Sign([]byte(secret), ts, body))
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, whose path or query may hold a secret
		}
		return fmt.Errorf("POST %s: %w", redactURL(w.URL), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookBodyBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST %s: HTTP %d", redactURL(w.URL), resp.StatusCode)
	}
	return nil
}

// redactURL keeps a webhook URL's scheme and host: many hooks carry a secret in the path or query.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "webhook"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
