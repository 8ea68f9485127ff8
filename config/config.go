// Package config reads the environment both binaries share (DESIGN §6.2).
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is everything the worker and the starter read from the environment.
type Config struct {
	TemporalAddress       string `env:"TEMPORAL_ADDRESS" envDefault:"127.0.0.1:7233"`
	TemporalNamespace     string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TaskQueue             string `env:"TEMPORAL_TASK_QUEUE" envDefault:"s1-connector"`
	TemporalAPIKey        string `env:"TEMPORAL_API_KEY"`
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"`

	DatabaseURL string `env:"DATABASE_URL" envDefault:"sqlite://./data/connector.db"`

	EncryptionKey     string `env:"CONNECTOR_ENCRYPTION_KEY"`
	EncryptionKeyFile string `env:"CONNECTOR_ENCRYPTION_KEY_FILE"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`

	MetricsAddr string `env:"METRICS_ADDR"`
	// MetricsPprof also serves Go's profiler (/debug/pprof/) on METRICS_ADDR, for profiling a
	// worker's CPU and memory in place. Off by default: profiles show record contents.
	MetricsPprof bool `env:"METRICS_PPROF" envDefault:"false"`

	// Worker tuning.
	MaxConcurrentActivities int `env:"WORKER_MAX_CONCURRENT_ACTIVITIES" envDefault:"16"`
	StreamConcurrency       int `env:"SYNC_STREAM_CONCURRENCY" envDefault:"3"`
	// PagesInFlight bounds the pages all walks of this worker hold in memory at once (fetched,
	// being transformed or being committed): the worker's memory stays flat however many
	// connections, streams and backfill windows run.
	PagesInFlight int `env:"SYNC_MAX_PAGES_IN_FLIGHT" envDefault:"4"`
	// PageCommits is how many pages commit at once on PostgreSQL, per walk and in all for the
	// worker's walks together (store/pending.go); SQLite commits a walk's pages one at a time.
	PageCommits int `env:"SYNC_PAGE_COMMITS" envDefault:"2"`
	// HeartbeatTimeout is how long a stream walk may go without a heartbeat before Temporal
	// hands it to another worker (the time a killed worker's walk waits before it resumes).
	HeartbeatTimeout time.Duration `env:"SYNC_HEARTBEAT_TIMEOUT" envDefault:"1m"`
}

// Load parses the environment and validates it, reporting every problem at once.
func Load() (*Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return nil, fmt.Errorf("reading configuration from the environment: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate reports every configuration problem at once, each with what to do.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.TemporalAddress); err != nil {
		errs = append(errs, fmt.Errorf("TEMPORAL_ADDRESS=%q is not host:port (e.g. 127.0.0.1:7233)", c.TemporalAddress))
	}
	if strings.TrimSpace(c.TemporalNamespace) == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE is empty: set it to your namespace (default \"default\")"))
	}
	if strings.TrimSpace(c.TaskQueue) == "" {
		errs = append(errs, errors.New("TEMPORAL_TASK_QUEUE is empty: unset it to use \"s1-connector\""))
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and key files)"))
	}
	if _, _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.EncryptionKey != "" && c.EncryptionKeyFile != "" {
		errs = append(errs, errors.New("set only one of CONNECTOR_ENCRYPTION_KEY and CONNECTOR_ENCRYPTION_KEY_FILE"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q is not one of debug, info, warn, error", c.LogLevel))
	}
	switch strings.ToLower(c.LogFormat) {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q is not one of json, console", c.LogFormat))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("METRICS_ADDR=%q is not host:port (e.g. 127.0.0.1:9090)", c.MetricsAddr))
		}
	} else if c.MetricsPprof {
		errs = append(errs, errors.New("METRICS_PPROF=true needs METRICS_ADDR (the profiler is served there, e.g. METRICS_ADDR=127.0.0.1:9090)"))
	}
	if c.MaxConcurrentActivities < 1 {
		errs = append(errs, fmt.Errorf("WORKER_MAX_CONCURRENT_ACTIVITIES=%d must be at least 1", c.MaxConcurrentActivities))
	}
	if c.PagesInFlight < 1 || c.PagesInFlight > 256 {
		errs = append(errs, fmt.Errorf("SYNC_MAX_PAGES_IN_FLIGHT=%d must be between 1 and 256", c.PagesInFlight))
	}
	if c.PageCommits < 1 || c.PageCommits > 8 {
		errs = append(errs, fmt.Errorf("SYNC_PAGE_COMMITS=%d must be between 1 and 8 (1 commits a walk's pages one after another)", c.PageCommits))
	}
	if c.StreamConcurrency < 1 || c.StreamConcurrency > 6 {
		errs = append(errs, fmt.Errorf("SYNC_STREAM_CONCURRENCY=%d must be between 1 and 6", c.StreamConcurrency))
	}
	if c.HeartbeatTimeout < MinHeartbeatTimeout || c.HeartbeatTimeout > MaxHeartbeatTimeout {
		errs = append(errs, fmt.Errorf("SYNC_HEARTBEAT_TIMEOUT=%s must be between %s and %s (a walk heartbeats at least every page and every 2s; keep it above the longest page fetch plus commit)",
			c.HeartbeatTimeout, MinHeartbeatTimeout, MaxHeartbeatTimeout))
	}
	return errors.Join(errs...)
}

// MemoryLimit is the worker's default soft memory limit (runtime/debug.SetMemoryLimit) when
// GOMEMLIMIT is not set: a base for the runtime, the SDK, the caches and the GC's headroom plus
// 16 MiB per page of SYNC_MAX_PAGES_IN_FLIGHT (a page of 1,000 threats, the largest, holds
// ~6.5 MB of raw JSON and ~5 MB of OCSF events). Without a limit the GC lets the heap grow to
// twice the live size before collecting (a 200k-threat backfill peaked at 330 MB RSS). The
// limit is soft: when live memory needs more, the GC runs more often (at most half the CPU)
// instead of failing.
//
// The headroom is what decides the GC's cost. On the bench's 2-core host the worker and
// PostgreSQL share the CPU, so the GC's share is taken from the database: a 200k-threat
// backfill with 6 pages under 160 MiB (64 + 16 × 6) spent ~25 % of the worker's CPU in the GC
// and ran at 0.74-0.77 × the COPY ceiling (5 pages: 0.81, 186 MB); with 4 pages under the
// same 160 MiB (96 + 16 × 4) the worker used 67 % of a core instead of 82 % and the backfill
// ran at 0.87 ×, with peak RSS 182 MB.
func (c *Config) MemoryLimit() int64 {
	return (96 + 16*int64(c.PagesInFlight)) << 20
}

// Bounds of SYNC_HEARTBEAT_TIMEOUT: below 10s an in-activity page retry backoff (up to 8s)
// would time the walk out; above 10 minutes a dead worker's walk waits too long.
const (
	MinHeartbeatTimeout = 10 * time.Second
	MaxHeartbeatTimeout = 10 * time.Minute
)

// EncryptionKeySpec returns the key ring spec from CONNECTOR_ENCRYPTION_KEY or the file
// CONNECTOR_ENCRYPTION_KEY_FILE names.
func (c *Config) EncryptionKeySpec() (string, error) {
	if c.EncryptionKey != "" {
		return c.EncryptionKey, nil
	}
	if c.EncryptionKeyFile != "" {
		b, err := os.ReadFile(c.EncryptionKeyFile)
		if err != nil {
			return "", fmt.Errorf("reading CONNECTOR_ENCRYPTION_KEY_FILE: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", errors.New("no encryption key: set CONNECTOR_ENCRYPTION_KEY (base64 of 32 random bytes, e.g. `head -c32 /dev/urandom | base64`) or CONNECTOR_ENCRYPTION_KEY_FILE; the worker and the starter need the same key")
}

// ParseDatabaseURL splits DATABASE_URL into a driver name and a DSN.
// postgres://… and postgresql://… use lib/pq; sqlite://PATH uses the embedded SQLite.
func ParseDatabaseURL(raw string) (driver, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return "postgres", raw, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if path == "" {
			return "", "", errors.New("DATABASE_URL=sqlite:// names no file: use sqlite://./data/connector.db")
		}
		return "sqlite", path, nil
	default:
		return "", "", fmt.Errorf("DATABASE_URL must start with postgres:// or sqlite:// (got %q)", redactURL(raw))
	}
}

func redactURL(raw string) string {
	if i := strings.Index(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "…@" + raw[i+1:]
		}
	}
	return raw
}
