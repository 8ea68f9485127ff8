// Command triage-worker runs the example triage workflows on the "triage" task queue. It
// uses the connector's payload codec, so it needs the same CONNECTOR_ENCRYPTION_KEY.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/config"
	"github.com/sentinelone-connector/s1conn/examples/triage"
	"github.com/sentinelone-connector/s1conn/logging"
	"github.com/sentinelone-connector/s1conn/tclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "triage-worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	spec, err := cfg.EncryptionKeySpec()
	if err != nil {
		return err
	}
	keys, err := codec.ParseKeyRing(spec)
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	c, err := tclient.Dial(ctx, cfg, log, keys)
	if err != nil {
		return err
	}
	defer c.Close()
	w := worker.New(c, triage.TaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(triage.TriageThreat, workflow.RegisterOptions{Name: triage.TriageWorkflow})
	w.RegisterWorkflowWithOptions(triage.CloseThreat, workflow.RegisterOptions{Name: triage.CloseWorkflow})
	w.RegisterActivity(&triage.Activities{})
	ch := make(chan any)
	go func() { <-ctx.Done(); close(ch) }()
	return w.Run(ch)
}
