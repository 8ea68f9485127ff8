package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/testsuite"

	"github.com/sentinelone-connector/s1conn/activities"
	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/store"
)

// profileAgents runs the connector's SyncStream activity for a full agents walk in this
// process (same code as the worker, Temporal's test activity environment) under the CPU
// profiler. The simulator runs in this process too, so its share is visible and separable.
func (b *bench) profileAgents(ctx context.Context) error {
	id := "prof-agents"
	if _, err := b.createConnection(id, model.StreamAgents, b.srv.URL, b.caFile); err != nil {
		return err
	}
	st, err := store.Open(ctx, b.e.dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := codec.ParseKeyRing(b.e.key)
	if err != nil {
		return err
	}
	acts := &activities.Activities{Store: st, Keys: keys, Log: zerolog.Nop(), Version: "bench"}
	var suite testsuite.WorkflowTestSuite
	aenv := suite.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	path := filepath.Join(b.e.root, "bench", "profile-agents.pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	logf("profile: in-process agents full sync under the CPU profiler")
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	t0 := time.Now()
	val, err := aenv.ExecuteActivity(model.ActivitySyncStream, model.SyncStreamInput{ConnectionID: id, Stream: model.StreamAgents,
		Mode: model.ModeFull, WalkID: id + ":1:agents"})
	d := time.Since(t0)
	pprof.StopCPUProfile()
	f.Close()
	if err != nil {
		return err
	}
	var r model.StreamResult
	if err := val.Get(&r); err != nil {
		return err
	}
	logf("profile: %d agents in %s (%.0f rec/s) in-process; profile in %s", r.Fetched, d.Round(time.Millisecond), rate(r.Fetched, d), path)
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=35", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	cum, _ := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=60", path).CombinedOutput()
	b.profile = fmt.Sprintf("In-process agents full sync: %d records in %s (%.0f rec/s, simulator in the same process).\n\nFlat:\n```\n%s```\nCumulative:\n```\n%s```\n",
		r.Fetched, d.Round(time.Millisecond), rate(r.Fetched, d), trimPprof(string(out)), trimPprof(string(cum)))
	_, _ = b.e.db.ExecContext(ctx, `DELETE FROM agents WHERE connection_id = $1`, id)
	return nil
}

func trimPprof(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}
