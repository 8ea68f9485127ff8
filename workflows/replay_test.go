package workflows_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/workflows"
)

// connectionHistory is a ConnectionWorkflow history recorded from a real dev server, e.g.
//
//	temporal workflow show --workflow-id connection:ID --output json > workflows/testdata/connection_history.json
//
// Replaying it guards against non-deterministic changes to the workflow code.
var connectionHistory = filepath.Join("testdata", "connection_history.json")

func TestReplayConnectionHistory(t *testing.T) {
	if _, err := os.Stat(connectionHistory); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not recorded yet: run a connection on a dev server and export its history with "+
			"`temporal workflow show --workflow-id connection:ID --output json > workflows/%s`", connectionHistory, connectionHistory)
	}
	replayer := worker.NewWorkflowReplayer()
	replayer.RegisterWorkflowWithOptions(workflows.ConnectionWorkflow, workflow.RegisterOptions{Name: model.ConnectionWorkflowName})
	replayer.RegisterWorkflowWithOptions(workflows.SyncWorkflow, workflow.RegisterOptions{Name: model.SyncWorkflowName})
	require.NoError(t, replayer.ReplayWorkflowHistoryFromJSONFile(nil, connectionHistory),
		"the workflow code no longer replays %s: a change is not backward compatible (guard it with workflow.GetVersion)", connectionHistory)
}
