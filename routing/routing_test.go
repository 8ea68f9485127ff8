package routing

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
)

func TestParseValidRoutes(t *testing.T) {
	r, err := Parse([]byte(`{"threats": [{"name": "triage", "on": ["new", "changed"], "filter": {"confidence": ["malicious"]},
		"workflow": {"type": "TriageThreat", "taskQueue": "triage"}},
		{"on": ["resolved"], "webhook": {"url": "https://soar.example/hook", "secretEnv": "HOOK_SECRET"}}]}`))
	require.NoError(t, err)
	require.Len(t, r["threats"], 2)
	require.Equal(t, "threats/triage", ID("threats", 0, r["threats"][0]))
	require.Equal(t, "threats/1", ID("threats", 1, r["threats"][1]))
}

func TestParseRejects(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"empty":           {``, "empty"},
		"not object":      {`[1]`, "not a JSON object"},
		"unknown stream":  {`{"agents": []}`, "cannot be routed"},
		"no trigger":      {`{"threats": [{"on": [], "workflow": {"type": "T", "taskQueue": "q"}}]}`, "no trigger"},
		"unknown trigger": {`{"threats": [{"on": ["created"], "workflow": {"type": "T", "taskQueue": "q"}}]}`, `unknown trigger "created"`},
		"no destination":  {`{"threats": [{"on": ["new"]}]}`, "no destination"},
		"two dests":       {`{"threats": [{"on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}, "webhook": {"url": "https://x", "secretEnv": "S"}}]}`, "not both"},
		"no type":         {`{"threats": [{"on": ["new"], "workflow": {"taskQueue": "q"}}]}`, "workflow.type is missing"},
		"no queue":        {`{"threats": [{"on": ["new"], "workflow": {"type": "T"}}]}`, "workflow.taskQueue is missing"},
		"http":            {`{"threats": [{"on": ["new"], "webhook": {"url": "http://x/h", "secretEnv": "S"}}]}`, "plain http"},
		"bad url":         {`{"threats": [{"on": ["new"], "webhook": {"url": "ftp://x", "secretEnv": "S"}}]}`, "not an https:// URL"},
		"userinfo":        {`{"threats": [{"on": ["new"], "webhook": {"url": "https://u:p@x/h", "secretEnv": "S"}}]}`, "credentials"},
		"bad env":         {`{"threats": [{"on": ["new"], "webhook": {"url": "https://x/h", "secretEnv": "1-bad"}}]}`, "secretEnv"},
		"reserved env":    {`{"threats": [{"on": ["new"], "webhook": {"url": "https://x/h", "secretEnv": "CONNECTOR_ENCRYPTION_KEY"}}]}`, "connector's own secrets"},
		"missing ca":      {`{"threats": [{"on": ["new"], "webhook": {"url": "https://x/h", "secretEnv": "S", "caFile": "/nonexistent.pem"}}]}`, "caFile"},
		"unknown field":   {`{"threats": [{"on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}, "retries": 1}]}`, "unknown field"},
		"dup name":        {`{"threats": [{"name": "a", "on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}}, {"name": "a", "on": ["new"], "workflow": {"type": "T", "taskQueue": "q"}}]}`, "used twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestMatches(t *testing.T) {
	r := model.Route{On: []string{model.TriggerNew}, Filter: &model.RouteFilter{Confidence: []string{"malicious"}, Status: []string{"new"}}}
	require.True(t, Matches(r, model.TriggerNew, map[string]string{"confidence": "Malicious", "status": "new"}))
	require.False(t, Matches(r, model.TriggerChanged, map[string]string{"confidence": "malicious", "status": "new"}))
	require.False(t, Matches(r, model.TriggerNew, map[string]string{"confidence": "suspicious", "status": "new"}))
	require.True(t, Matches(model.Route{On: []string{model.TriggerResolved}}, model.TriggerResolved, nil))
}

func TestSignVerify(t *testing.T) {
	sig := Sign([]byte("s3cret"), "1700000000", []byte(`{"a":1}`))
	require.True(t, Verify([]byte("s3cret"), "1700000000", []byte(`{"a":1}`), sig))
	require.False(t, Verify([]byte("other"), "1700000000", []byte(`{"a":1}`), sig))
	require.False(t, Verify([]byte("s3cret"), "1700000001", []byte(`{"a":1}`), sig), "the timestamp is signed")
	require.False(t, Verify([]byte("s3cret"), "1700000000", []byte(`{"a":2}`), sig))
}
