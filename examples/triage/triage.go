// Package triage is an example of the user workflows a connection's routes start: copy it,
// put your response logic in the activities, and run its worker on the task queue your
// routes name. Each routed change arrives once as a model.RouteEvent.
package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
)

// TaskQueue is the queue the example routes point at.
const TaskQueue = "triage"

// Workflow type names used in routes files.
const (
	TriageWorkflow = "TriageThreat"
	CloseWorkflow  = "CloseThreat"
)

// Decision is what triage concluded.
type Decision struct {
	RecordKey string
	Trigger   string
	Priority  string // P1..P4
	Title     string
	Ticket    string
}

// finding is the part of the OCSF Detection Finding (2004) triage reads.
type finding struct {
	SeverityID   int `json:"severity_id"`
	ConfidenceID int `json:"confidence_id"`
	StatusID     int `json:"status_id"`
	FindingInfo  struct {
		Title string `json:"title"`
		UID   string `json:"uid"`
	} `json:"finding_info"`
	Device struct {
		Hostname string `json:"hostname"`
	} `json:"device"`
}

// Priority maps OCSF severity and confidence to a queue priority.
func Priority(severityID, confidenceID int) string {
	switch {
	case severityID >= 5 || (severityID >= 4 && confidenceID >= 3):
		return "P1"
	case severityID >= 4:
		return "P2"
	case severityID >= 3:
		return "P3"
	}
	return "P4"
}

// TriageThreat handles a new or changed detection: it classifies it and opens (or updates) a
// ticket through an activity, where your integrations belong.
func TriageThreat(ctx workflow.Context, ev model.RouteEvent) (*Decision, error) {
	var f finding
	if err := json.Unmarshal(ev.OCSF, &f); err != nil {
		return nil, fmt.Errorf("routed event %s is not an OCSF finding: %w", ev.RecordKey, err)
	}
	d := &Decision{RecordKey: ev.RecordKey, Trigger: ev.Trigger, Priority: Priority(f.SeverityID, f.ConfidenceID),
		Title: strings.TrimSpace(f.FindingInfo.Title + " on " + f.Device.Hostname)}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var a *Activities
	if err := workflow.ExecuteActivity(actx, a.OpenTicket, *d).Get(ctx, &d.Ticket); err != nil {
		return nil, err
	}
	return d, nil
}

// CloseThreat handles a resolved detection.
func CloseThreat(ctx workflow.Context, ev model.RouteEvent) (*Decision, error) {
	d := &Decision{RecordKey: ev.RecordKey, Trigger: ev.Trigger, Priority: "-"}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var a *Activities
	if err := workflow.ExecuteActivity(actx, a.CloseTicket, ev.RecordKey).Get(ctx, &d.Ticket); err != nil {
		return nil, err
	}
	return d, nil
}

// Activities is where a real deployment calls its ticketing / SOAR systems.
type Activities struct{}

// OpenTicket would create a ticket; the example returns a deterministic reference.
func (a *Activities) OpenTicket(ctx context.Context, d Decision) (string, error) {
	activity.GetLogger(ctx).Info("triaged detection", "record", d.RecordKey, "priority", d.Priority, "title", d.Title)
	return "TICKET-" + d.RecordKey, nil
}

// CloseTicket would close the ticket of a resolved detection.
func (a *Activities) CloseTicket(ctx context.Context, recordKey string) (string, error) {
	activity.GetLogger(ctx).Info("closing ticket", "record", recordKey)
	return "TICKET-" + recordKey, nil
}
