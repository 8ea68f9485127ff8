// Package model is the connector's contract: task queue, workflow IDs, signal,
// query and update names, stream names, states, and every workflow and
// activity input/result struct. Every other package imports it; it imports
// nothing of ours.
package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DefaultTaskQueue is the task queue the worker polls unless TEMPORAL_TASK_QUEUE says otherwise.
const DefaultTaskQueue = "s1-connector"

// Workflow type names (registered explicitly so renames of Go functions never break history).
const (
	ConnectionWorkflowName = "ConnectionWorkflow"
	SyncWorkflowName       = "SyncWorkflow"
)

// Activity names.
const (
	ActivityCheckConnection = "CheckConnection"
	ActivitySyncStream      = "SyncStream"
	ActivityStartRun        = "StartRun"
	ActivityFinishRun       = "FinishRun"
	ActivityLoadConnection  = "LoadConnection"
	ActivitySetState        = "SetState"
	ActivityPromoteToken    = "PromoteToken"
	ActivityPurge           = "PurgeConnection"
	ActivityPlanSync        = "PlanSync"
	ActivitySetWatermark    = "SetWatermark"
	ActivityDeliverOutbox   = "DeliverOutbox"
)

// Signals, queries and updates of ConnectionWorkflow.
const (
	SignalSyncNow     = "sync-now"
	SignalPause       = "pause"
	SignalResume      = "resume"
	SignalDelete      = "delete"
	SignalReload      = "reload-config"
	QueryStatus       = "status"
	UpdateRotateToken = "rotate-token"
)

// Search attribute names (typed keys live in the workflows package).
const (
	SearchAttrState          = "ConnectorState"
	SearchAttrConnectionID   = "ConnectionID"
	SearchAttrLastSyncStatus = "LastSyncStatus"
	SearchAttrTokenExpiresAt = "TokenExpiresAt"
)

const (
	connectionPrefix = "connection:"
	syncPrefix       = "sync:"
)

// ConnectionWorkflowID is the ID of the one long-lived workflow of a connection.
func ConnectionWorkflowID(connectionID string) string { return connectionPrefix + connectionID }

// ConnectionIDFromWorkflowID reverses ConnectionWorkflowID; ok is false for other IDs.
func ConnectionIDFromWorkflowID(workflowID string) (string, bool) {
	if !strings.HasPrefix(workflowID, connectionPrefix) {
		return "", false
	}
	return strings.TrimPrefix(workflowID, connectionPrefix), true
}

// SyncWorkflowID is the ID of the seq-th sync of a connection.
func SyncWorkflowID(connectionID string, seq int64) string {
	return fmt.Sprintf("%s%s:%d", syncPrefix, connectionID, seq)
}

// State is a connection's lifecycle state.
type State string

// The states of a connection (Qualys ETM's vocabulary plus what durable execution adds).
const (
	StateRegistered State = "Registered"
	StateTesting    State = "Testing"
	StateTestFailed State = "TestFailed"
	StateScheduled  State = "Scheduled"
	StateProcessing State = "Processing"
	StateProcessed  State = "Processed"
	StateAuthFailed State = "AuthFailed"
	StatePaused     State = "Paused"
	StateFailed     State = "Failed"
	StateDeleted    State = "Deleted"
)

// AllStates lists every state in lifecycle order.
var AllStates = []State{StateRegistered, StateTesting, StateTestFailed, StateScheduled, StateProcessing,
	StateProcessed, StateAuthFailed, StatePaused, StateFailed, StateDeleted}

// Stream names.
const (
	StreamAgents          = "agents"
	StreamXDRAssets       = "xdr_assets"
	StreamApplications    = "applications"
	StreamVulnerabilities = "vulnerabilities"
	StreamThreats         = "threats"
	StreamAlerts          = "alerts"
)

// AllStreams lists every stream the design knows, in sync order.
var AllStreams = []string{StreamAgents, StreamXDRAssets, StreamApplications, StreamVulnerabilities, StreamThreats, StreamAlerts}

// ImplementedStreams lists the streams this build can sync.
var ImplementedStreams = AllStreams

// IsImplementedStream reports whether this build can sync the stream.
func IsImplementedStream(s string) bool {
	for _, x := range ImplementedStreams {
		if x == s {
			return true
		}
	}
	return false
}

// Sync modes.
const (
	ModeDelta    = "delta"
	ModeFull     = "full"
	ModeBackfill = "backfill" // one time window of a windowed stream's lookback
)

// IsWindowed reports whether a stream is event-like (threats, alerts): its first sync backfills
// a lookback in parallel time windows, and it has no full reconcile.
func IsWindowed(stream string) bool { return stream == StreamThreats || stream == StreamAlerts }

// JoinsAgents reports whether a stream's rows carry host fields joined from the agents table,
// so a sync walks it after the agents.
func JoinsAgents(stream string) bool {
	return stream == StreamVulnerabilities || stream == StreamXDRAssets || stream == StreamApplications
}

// Window is a half-open time range [From, To) of a backfill.
type Window struct {
	From time.Time
	To   time.Time
}

// Error types used as Temporal application error types (non-retryable where the cause needs a human).
const (
	ErrTypeAuth       = "AuthFailed"       // 401: token invalid, revoked or expired
	ErrTypePermission = "PermissionDenied" // 403: token lacks a permission
	ErrTypeConfig     = "InvalidConfig"    // connection config cannot work (bad filter, bad URL)
	ErrTypeNotFound   = "ConnectionNotFound"
	ErrTypeRejected   = "Rejected" // update rejected by the console check
)

// ConnectionWorkflowInput starts (or continues) a connection's workflow. It holds no secret.
type ConnectionWorkflowInput struct {
	ConnectionID string
	// Carried across continue-as-new:
	State          State          `json:",omitempty"`
	Seq            int64          `json:",omitempty"` // number of syncs started so far
	LastRun        *RunSummary    `json:",omitempty"`
	LastFullAt     time.Time      `json:",omitempty"`
	LastScheduled  time.Time      `json:",omitempty"` // the schedule slot last run (coalescing)
	Pending        []SyncRequest  `json:",omitempty"` // sync-now requests not yet served
	TokenExpiresAt time.Time      `json:",omitempty"`
	LastError      *ErrorInfo     `json:",omitempty"`
	Checks         []CheckResult  `json:",omitempty"`
	Config         *ScheduleSpec  `json:",omitempty"`
	Testing        *TestingPolicy `json:",omitempty"`
	// PausedFrom is the state a pause interrupted; resume returns to it when it needs a human
	// (AuthFailed, TestFailed, Failed) and to Scheduled otherwise.
	PausedFrom State `json:",omitempty"`
	// ResumeStreams are the streams of the interrupted sync that the resumed run must finish.
	ResumeStreams []string `json:",omitempty"`
	// TokenGen counts accepted rotations, so a 401 from a token replaced mid-sync retries at once.
	TokenGen int64 `json:",omitempty"`
	// Rotated: a new token was accepted that the failed state has not yet tried.
	Rotated bool `json:",omitempty"`
}

// TestingPolicy lets workflow tests shorten behaviour; nil in production.
type TestingPolicy struct {
	SyncsBeforeContinueAsNew int
}

// ScheduleSpec is the part of a connection's configuration the workflow needs.
type ScheduleSpec struct {
	Schedule       string        // "1h", "@daily", "0 2 * * *"
	Timezone       string        // IANA name, default UTC
	StartAt        time.Time     `json:",omitempty"`
	EndAt          time.Time     `json:",omitempty"`
	Streams        []string      // enabled streams
	ReconcileEvery time.Duration // full reconcile period
	Concurrency    int           `json:",omitempty"` // streams walked at once (the worker's SYNC_STREAM_CONCURRENCY)
	// HeartbeatTimeout of stream walks (the worker's SYNC_HEARTBEAT_TIMEOUT; 0 = one minute).
	HeartbeatTimeout time.Duration `json:",omitempty"`
}

// SyncRequest is the payload of the sync-now signal.
type SyncRequest struct {
	Streams  []string      `json:",omitempty"` // subset; empty = all enabled
	Full     bool          `json:",omitempty"`
	Backfill time.Duration `json:",omitempty"`
	Reason   string        `json:",omitempty"`
	// RouteBackfill lets routes fire for the records this backfill reads.
	RouteBackfill bool `json:",omitempty"`
	// RequestID lets `starter sync --wait` find the run that served it.
	RequestID string `json:",omitempty"`
}

// RotateTokenRequest is the rotate-token update's argument. The token itself never travels
// through Temporal: the starter seals it into the connection's pending-token slot in the
// store and names it here by fingerprint.
type RotateTokenRequest struct {
	Fingerprint string
}

// RotateTokenResult is the rotate-token update's result.
type RotateTokenResult struct {
	Fingerprint    string
	TokenExpiresAt time.Time `json:",omitempty"`
	Checks         []CheckResult
}

// ErrorInfo is an error a human must read: what failed, why and what to do.
type ErrorInfo struct {
	At          time.Time
	Stream      string `json:",omitempty"`
	Type        string
	Message     string
	Remediation string `json:",omitempty"`
}

// Status is the answer to the status query.
type Status struct {
	ConnectionID   string
	State          State
	Seq            int64
	CurrentRun     *RunProgress  `json:",omitempty"`
	LastRun        *RunSummary   `json:",omitempty"`
	NextRunAt      time.Time     `json:",omitempty"`
	TokenExpiresAt time.Time     `json:",omitempty"`
	LastError      *ErrorInfo    `json:",omitempty"`
	Checks         []CheckResult `json:",omitempty"`
	Schedule       *ScheduleSpec `json:",omitempty"`
	PendingSyncs   int
	PendingIDs     []string `json:",omitempty"`
}

// RunProgress describes the sync in flight.
type RunProgress struct {
	Seq        int64
	WorkflowID string
	StartedAt  time.Time
	Mode       string
	Streams    []string
	RequestIDs []string `json:",omitempty"`
}

// RunSummary is what a finished sync reports.
type RunSummary struct {
	Seq        int64
	WorkflowID string
	StartedAt  time.Time
	FinishedAt time.Time
	Status     string // "success", "partial", "failed", "auth_failed"
	Mode       string
	Streams    []StreamResult
	Error      *ErrorInfo `json:",omitempty"`
	RequestIDs []string   `json:",omitempty"`
}

// Run statuses.
const (
	RunSuccess    = "success"
	RunPartial    = "partial"
	RunFailed     = "failed"
	RunAuthFailed = "auth_failed"
)

// SyncWorkflowInput starts one sync of a connection.
type SyncWorkflowInput struct {
	ConnectionID  string
	Seq           int64
	Streams       []string
	Mode          string        // ModeDelta or ModeFull
	Backfill      time.Duration `json:",omitempty"`
	RouteBackfill bool          `json:",omitempty"`
	Concurrency   int           `json:",omitempty"` // streams in flight; default 3
	// HeartbeatTimeout of the stream walks; 0 = one minute.
	HeartbeatTimeout time.Duration `json:",omitempty"`
}

// SyncWorkflowResult summarises one sync.
type SyncWorkflowResult struct {
	Summary RunSummary
}

// SyncStreamInput asks the SyncStream activity to bring one stream up to date.
type SyncStreamInput struct {
	ConnectionID string
	Stream       string
	Mode         string
	// WalkID identifies this walk; a retried activity with the same WalkID resumes the walk
	// from its committed checkpoint instead of starting again.
	WalkID   string
	Backfill time.Duration `json:",omitempty"`
	// RouteBackfill lets routes fire for this walk's records even in backfill mode.
	RouteBackfill bool `json:",omitempty"`
	// Window bounds a backfill walk (createdAt in [From, To)); Checkpoint names its own
	// checkpoint row so windows of one stream walk in parallel.
	Window     *Window `json:",omitempty"`
	Checkpoint string  `json:",omitempty"`
	// SyncStartedAt is when the sync began: the alerts' status refresh skips alerts this sync
	// already read (a first sync's backfill just fetched them all).
	SyncStartedAt time.Time `json:",omitempty"`
}

// StreamResult is what SyncStream returns: counts and cursors only, never records.
type StreamResult struct {
	Stream    string
	Mode      string
	Pages     int64
	Fetched   int64
	Inserted  int64
	Updated   int64
	Unchanged int64
	Removed   int64
	Requests  int64
	Resumed   bool  `json:",omitempty"`
	Windows   int   `json:",omitempty"` // backfill windows walked
	Refreshed int64 `json:",omitempty"` // records re-read by ID (alerts' status refresh)
	// Quarantined counts records the transform could not read: kept as received in the
	// quarantine (starter status / export --quarantine) instead of stopping the walk.
	Quarantined int64     `json:",omitempty"`
	Watermark   time.Time `json:",omitempty"`
	TotalItems  int64     `json:",omitempty"`
	Duration    time.Duration
	Error       *ErrorInfo `json:",omitempty"`
}

// CheckConnectionInput runs the connection test for a stored connection; UsePendingToken tests
// the token waiting in the pending slot (rotation) instead of the active one.
type CheckConnectionInput struct {
	ConnectionID    string
	UsePendingToken bool `json:",omitempty"`
}

// Check outcomes.
const (
	CheckPass = "pass"
	CheckFail = "fail"
	CheckWarn = "warn"
	CheckSkip = "skip"
)

// CheckResult is one step of the connection test.
type CheckResult struct {
	Name        string
	Outcome     string
	Detail      string `json:",omitempty"`
	Remediation string `json:",omitempty"`
	Duration    time.Duration
}

// CheckConnectionResult is the whole connection test.
type CheckConnectionResult struct {
	OK             bool
	Checks         []CheckResult
	TokenExpiresAt time.Time  `json:",omitempty"`
	Error          *ErrorInfo `json:",omitempty"`
}

// StartRunInput records the start of a sync run.
type StartRunInput struct {
	ConnectionID string
	Seq          int64
	WorkflowID   string
	Mode         string
	Streams      []string
}

// FinishRunInput records the end of a sync run.
type FinishRunInput struct {
	ConnectionID string
	Summary      RunSummary
}

// LoadConnectionInput reads a connection's non-secret configuration.
type LoadConnectionInput struct{ ConnectionID string }

// LoadConnectionResult is a connection's non-secret configuration.
type LoadConnectionResult struct {
	Exists   bool
	Schedule ScheduleSpec
}

// SetStateInput mirrors a state change into the store (for list/export without Temporal).
type SetStateInput struct {
	ConnectionID string
	State        State
	LastError    *ErrorInfo `json:",omitempty"`
	TokenExpires time.Time  `json:",omitempty"`
}

// PromoteTokenInput moves the pending token to active once it passed the check.
type PromoteTokenInput struct {
	ConnectionID   string
	Fingerprint    string
	TokenExpiresAt time.Time `json:",omitempty"`
}

// PurgeInput deletes a connection's stored data.
type PurgeInput struct {
	ConnectionID string
	Purge        bool // also delete records; otherwise only mark the connection deleted
}

// DeleteRequest is the delete signal's payload.
type DeleteRequest struct {
	Purge bool
}

// PlanSyncInput asks for what the workflow needs to plan a sync's walks.
type PlanSyncInput struct {
	ConnectionID string
	Streams      []string
}

// StreamPlan is one stream's committed watermark and configured lookback.
type StreamPlan struct {
	Stream    string
	Watermark time.Time `json:",omitempty"`
	Lookback  time.Duration
	// Windows is how many windows a backfill of the lookback is split into (the connection's
	// BackfillWindows, or the default).
	Windows int `json:",omitempty"`
}

// PlanSyncResult lists the plans in the order asked.
type PlanSyncResult struct {
	Streams []StreamPlan
}

// SetWatermarkInput moves a stream's watermark forward (never back).
type SetWatermarkInput struct {
	ConnectionID string
	Stream       string
	At           time.Time
}

// Empty is the result of activities that return nothing but success.
type Empty struct{}

// ConnectionSettings is a connection's non-secret configuration as stored and shown.
type ConnectionSettings struct {
	Streams      []string                     `json:"streams"`
	AccountIDs   []string                     `json:"accountIds,omitempty"`
	SiteIDs      []string                     `json:"siteIds,omitempty"`
	Filters      map[string]map[string]string `json:"filters,omitempty"`
	Lookback     time.Duration                `json:"lookback,omitempty"`
	Schedule     string                       `json:"schedule"`
	Timezone     string                       `json:"timezone,omitempty"`
	StartAt      time.Time                    `json:"startAt,omitzero"`
	EndAt        time.Time                    `json:"endAt,omitzero"`
	CAPEM        string                       `json:"caPem,omitempty"`
	InsecureHTTP bool                         `json:"insecureHttp,omitempty"`
	// BackfillWindows is how many parallel windows a lookback backfill of threats or alerts is
	// split into (1–64; 0 = DefaultBackfillWindows). Each window ends in a partial page (one
	// request over the minimum); more windows help when the console, not the database, is slow.
	BackfillWindows int `json:"backfillWindows,omitempty"`
	// Overlap is subtracted from the watermark on delta walks so late writes are re-read (upsert dedups).
	Overlap time.Duration `json:"overlap,omitempty"`
	// ReconcileEvery is how often a full walk detects records the console no longer has.
	ReconcileEvery time.Duration `json:"reconcileEvery,omitempty"`
	// AlertRefresh is how far back unresolved alerts are re-read by ID on every sync, since the
	// alerts API has no updatedAt filter (status and verdict changes are otherwise invisible).
	AlertRefresh time.Duration `json:"alertRefresh,omitempty"`
	// Routes send new, changed and resolved detections to automation, per stream.
	Routes map[string][]Route `json:"routes,omitempty"`
	// RouteBackfill lets routes fire for records read by a lookback backfill (off by default so
	// a first sync does not flood automation).
	RouteBackfill bool `json:"routeBackfill,omitempty"`
	// RiskScores maps risk severity levels 1..5 to scores (Qualys ETM's risk severity mapping);
	// empty = the default 20,40,60,80,100. DefaultSeverityLevel applies to rows with no severity.
	RiskScores           []int `json:"riskScores,omitempty"`
	DefaultSeverityLevel int   `json:"defaultSeverityLevel,omitempty"`
}

// Route triggers.
const (
	TriggerNew      = "new"
	TriggerChanged  = "changed"
	TriggerResolved = "resolved"
	TriggerReplay   = "replay"
)

// Route sends a stream's records that match its trigger and filter to one destination.
type Route struct {
	Name     string        `json:"name,omitempty"`
	On       []string      `json:"on"`
	Filter   *RouteFilter  `json:"filter,omitempty"`
	Workflow *WorkflowDest `json:"workflow,omitempty"`
	Webhook  *WebhookDest  `json:"webhook,omitempty"`
}

// RouteFilter narrows a route to records whose attributes are in the lists (case-insensitive).
type RouteFilter struct {
	Severity   []string `json:"severity,omitempty"`
	Confidence []string `json:"confidence,omitempty"`
	Status     []string `json:"status,omitempty"`
}

// WorkflowDest starts a user's Temporal workflow per routed record.
type WorkflowDest struct {
	Type      string `json:"type"`
	TaskQueue string `json:"taskQueue"`
	Namespace string `json:"namespace,omitempty"`
}

// WebhookDest POSTs the OCSF event, HMAC-SHA256 signed with the secret in the worker's
// environment variable SecretEnv.
type WebhookDest struct {
	URL         string `json:"url"`
	SecretEnv   string `json:"secretEnv"`
	CAPEM       string `json:"caPem,omitempty"`
	CAFile      string `json:"caFile,omitempty"` // read by the starter into CAPEM
	Insecure    bool   `json:"insecure,omitempty"`
	MaxAttempts int    `json:"maxAttempts,omitempty"`
}

// RouteEvent is what a routed user workflow receives (and, as JSON, what a webhook body holds
// under "event" for the OCSF part).
type RouteEvent struct {
	DeliveryID   int64
	ConnectionID string
	Stream       string
	RouteID      string
	Trigger      string
	RecordKey    string
	ContentHash  string
	OCSF         json.RawMessage
	Raw          json.RawMessage
}

// DeliverOutboxInput drains a connection's outbox.
type DeliverOutboxInput struct {
	ConnectionID string
}

// DeliverOutboxResult counts what one drain did.
type DeliverOutboxResult struct {
	Delivered int
	Retrying  int
	Dead      int
}

// Defaults applied to settings left empty.
const (
	DefaultSchedule       = "1h"
	DefaultOverlap        = 5 * time.Minute
	DefaultReconcileEvery = 24 * time.Hour
	DefaultLookback       = 14 * 24 * time.Hour
	DefaultAlertRefresh   = 72 * time.Hour
	// DefaultBackfillWindows: on the benchmark host (bench/results.md) two windows synced
	// 60,000 threats in 23 s, one in 32 s, four in 26 s and thirty day-windows in 28 s; each
	// window costs up to one request over the minimum.
	DefaultBackfillWindows = 2
)

// ScheduleSpec derives the workflow's view of the settings.
func (s ConnectionSettings) ScheduleSpec() ScheduleSpec {
	sp := ScheduleSpec{Schedule: s.Schedule, Timezone: s.Timezone, StartAt: s.StartAt, EndAt: s.EndAt,
		Streams: append([]string(nil), s.Streams...), ReconcileEvery: s.ReconcileEvery}
	if sp.Schedule == "" {
		sp.Schedule = DefaultSchedule
	}
	if sp.Timezone == "" {
		sp.Timezone = "UTC"
	}
	if sp.ReconcileEvery == 0 {
		sp.ReconcileEvery = DefaultReconcileEvery
	}
	return sp
}
