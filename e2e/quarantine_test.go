package e2e

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/simulator"
)

// TestE2EWrongTypesQuarantined: records whose fields have the wrong type (valid JSON the
// transform cannot read) neither stop the walk nor disappear. They are kept exactly as the
// console sent them in the quarantine (status counts them, export --quarantine prints them),
// every other record is stored; once the console sends them readable again, a sync stores them
// and clears the quarantine. 0 lost, 0 duplicated.
func TestE2EWrongTypesQuarantined(t *testing.T) {
	h := newHarness(t, harnessOpts{agents: 3000})
	truth := h.sim.Truth("agents")
	ids := slices.Sorted(maps.Keys(truth))
	bad := map[string]bool{}
	for _, id := range []string{ids[0], ids[len(ids)/3], ids[len(ids)/2], ids[2*len(ids)/3], ids[len(ids)-1]} {
		bad[id] = true
	}
	h.sim.SetFaults(simulator.Faults{WrongTypeIDs: bad})
	h.startWorker()
	h.create("wrongtypes", "--streams", "agents", "--skip-test")
	sum := h.syncWait("wrongtypes")
	require.Equal(t, model.RunSuccess, sum.Status, "a walk goes on past unreadable records: %+v", sum)
	require.Equal(t, int64(len(bad)), streamResult(sum, model.StreamAgents).Quarantined)

	active, removed := h.storedAgents("wrongtypes")
	require.Empty(t, removed)
	want := maps.Clone(truth)
	for id := range bad {
		delete(want, id)
	}
	require.Equal(t, want, active, "every readable record is stored, once")

	// The quarantine holds exactly the unreadable records, as the console sent them.
	out := h.mustStarter("export", "wrongtypes", "--stream", "agents", "--quarantine", "--format", "raw")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, len(bad))
	for _, l := range lines {
		var rec struct {
			ID        string `json:"id"`
			UpdatedAt string `json:"updatedAt"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		require.True(t, bad[rec.ID], "quarantined %s was not made unreadable", rec.ID)
		require.Equal(t, "yesterday", rec.UpdatedAt)
	}
	out = h.mustStarter("export", "wrongtypes", "--stream", "agents", "--quarantine")
	require.Contains(t, out, `"error":"ocsf: agent`)
	var st struct {
		Streams []struct {
			Stream      string `json:"stream"`
			Quarantined int64  `json:"quarantined"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal([]byte(h.mustStarter("status", "wrongtypes", "--json")), &st))
	require.Len(t, st.Streams, 1)
	require.Equal(t, int64(len(bad)), st.Streams[0].Quarantined)
	require.Contains(t, h.mustStarter("status", "wrongtypes"), "quarantined agents: 5 records")
	require.Contains(t, h.logs.String(), "record quarantined")

	// The console sends them readable again: a full sync stores them and empties the quarantine.
	h.sim.SetFaults(simulator.Faults{})
	sum = h.syncWait("wrongtypes", "--full")
	require.Equal(t, model.RunSuccess, sum.Status)
	require.Zero(t, streamResult(sum, model.StreamAgents).Quarantined)
	active, removed = h.storedAgents("wrongtypes")
	require.Empty(t, removed)
	require.Equal(t, truth, active)
	require.Empty(t, strings.TrimSpace(h.mustStarter("export", "wrongtypes", "--stream", "agents", "--quarantine")))
}
