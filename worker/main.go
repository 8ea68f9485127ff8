// Command worker hosts the connector's workflows and activities. Run as many as you
// like on the same task queue; they share the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
	_ "time/tzdata" // schedules' timezones work on minimal images

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/sentinelone-connector/s1conn/activities"
	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/config"
	"github.com/sentinelone-connector/s1conn/logging"
	"github.com/sentinelone-connector/s1conn/metrics"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/store"
	"github.com/sentinelone-connector/s1conn/tclient"
	"github.com/sentinelone-connector/s1conn/workflows"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat).With().Str("component", "worker").Logger()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.MemoryLimit())
	}
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		log.Info().Int64("memoryLimitMiB", lim>>20).Int("pagesInFlight", cfg.PagesInFlight).Msg("soft memory limit (set GOMEMLIMIT to change it)")
	}
	spec, err := cfg.EncryptionKeySpec()
	if err != nil {
		return err
	}
	keys, err := codec.ParseKeyRing(spec)
	if err != nil {
		return fmt.Errorf("CONNECTOR_ENCRYPTION_KEY: %w", err)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := tclient.Dial(ctx, cfg, log, keys)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := tclient.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	m := metrics.New()
	acts := &activities.Activities{Store: st, Keys: keys, Log: log, Version: version, Temporal: c,
		StreamConcurrency: cfg.StreamConcurrency, HeartbeatTimeout: cfg.HeartbeatTimeout, PageSlots: activities.NewPageSlots(cfg.PagesInFlight),
		PageCommits: cfg.PageCommits, CommitSlots: activities.NewPageSlots(cfg.PageCommits),
		OnRequest: m.ObserveRequest, OnPage: m.ObservePage, OnRetry: m.ObserveRetry, OnRun: m.ObserveRun,
		OnTokenExpiry: m.ObserveTokenExpiry}
	w := New(c, cfg, acts)
	if cfg.MetricsAddr != "" {
		h := m.Handler()
		if cfg.MetricsPprof {
			h = withPprof(h)
		}
		srv := &http.Server{Addr: cfg.MetricsAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("metrics server stopped")
			}
		}()
		defer srv.Shutdown(context.Background()) //nolint:errcheck
		log.Info().Str("addr", cfg.MetricsAddr).Msg("serving Prometheus metrics on /metrics")
	}
	log.Info().Str("taskQueue", cfg.TaskQueue).Str("namespace", cfg.TemporalNamespace).Str("version", version).Msg("worker starting")
	if err := w.Run(interruptCh(ctx)); err != nil {
		return fmt.Errorf("worker stopped: %w", err)
	}
	log.Info().Msg("worker stopped")
	return nil
}

// withPprof serves Go's profiler under /debug/pprof/ next to h (METRICS_PPROF).
func withPprof(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// New builds a worker with every workflow and activity registered.
func New(c client.Client, cfg *config.Config, acts *activities.Activities) worker.Worker {
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		// Activities that heartbeat through the SDK do so at most every 2 s (stream walks and the
		// outbox drain send their own, at the same cadence: activities/heartbeat.go).
		MaxHeartbeatThrottleInterval:     2 * time.Second,
		DefaultHeartbeatThrottleInterval: 2 * time.Second,
	})
	Register(w, acts)
	return w
}

// Register registers the workflows and activities under their contract names.
func Register(w worker.Registry, acts *activities.Activities) {
	w.RegisterWorkflowWithOptions(workflows.ConnectionWorkflow, workflow.RegisterOptions{Name: model.ConnectionWorkflowName})
	w.RegisterWorkflowWithOptions(workflows.SyncWorkflow, workflow.RegisterOptions{Name: model.SyncWorkflowName})
	w.RegisterActivity(acts)
}

func interruptCh(ctx context.Context) <-chan any {
	ch := make(chan any)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

var _ = zerolog.Nop
