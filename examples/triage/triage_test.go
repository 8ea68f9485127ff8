package triage_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/sentinelone-connector/s1conn/examples/triage"
	"github.com/sentinelone-connector/s1conn/model"
)

func TestTriageThreatPrioritisesAndOpensATicket(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(triage.TriageThreat)
	env.RegisterActivity(&triage.Activities{})
	ocsf := json.RawMessage(`{"severity_id": 4, "confidence_id": 3, "status_id": 1, "finding_info": {"title": "Trojan.Gen", "uid": "t1"}, "device": {"hostname": "WS-01"}}`)
	env.ExecuteWorkflow(triage.TriageThreat, model.RouteEvent{RecordKey: "t1", Trigger: model.TriggerNew, OCSF: ocsf})
	require.NoError(t, env.GetWorkflowError())
	var d triage.Decision
	require.NoError(t, env.GetWorkflowResult(&d))
	require.Equal(t, "P1", d.Priority)
	require.Equal(t, "Trojan.Gen on WS-01", d.Title)
	require.Equal(t, "TICKET-t1", d.Ticket)
}

func TestTriageThreatRejectsNonOCSF(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(triage.TriageThreat)
	env.RegisterActivity(&triage.Activities{})
	env.ExecuteWorkflow(triage.TriageThreat, model.RouteEvent{RecordKey: "t2", OCSF: json.RawMessage(`"nope"`)})
	require.ErrorContains(t, env.GetWorkflowError(), "not an OCSF finding")
}

func TestCloseThreat(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(triage.CloseThreat)
	env.RegisterActivity(&triage.Activities{})
	env.ExecuteWorkflow(triage.CloseThreat, model.RouteEvent{RecordKey: "t3", Trigger: model.TriggerResolved})
	require.NoError(t, env.GetWorkflowError())
	var d triage.Decision
	require.NoError(t, env.GetWorkflowResult(&d))
	require.Equal(t, "TICKET-t3", d.Ticket)
}

func TestPriority(t *testing.T) {
	require.Equal(t, "P1", triage.Priority(5, 0))
	require.Equal(t, "P2", triage.Priority(4, 2))
	require.Equal(t, "P3", triage.Priority(3, 3))
	require.Equal(t, "P4", triage.Priority(1, 1))
}
