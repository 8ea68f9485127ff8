package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/sentinelone-connector/s1conn/internal/proccpu"
	"github.com/sentinelone-connector/s1conn/model"
)

// env is the infrastructure one benchmark run uses: binaries, a Temporal dev server,
// a fresh PostgreSQL database and the environment the worker and starter share.
type env struct {
	root, dir, binDir string
	dev               *testsuite.DevServer
	adminURL, dbName  string
	dbURL             string
	db                *sql.DB
	key               string
	taskQueue         string
	logFile           *os.File
	mu                sync.Mutex
	workers           []*worker
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// repoRoot finds the directory holding go.mod, from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory: run `go run ./bench` from the repository")
		}
		dir = parent
	}
}

func (e *env) buildBinaries() error {
	cmd := exec.Command("go", "build", "-trimpath", "-o", e.binDir+"/", "./worker", "./starter")
	cmd.Dir = e.root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building worker and starter: %w", err)
	}
	return nil
}

func temporalCLI(root string) (string, error) {
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p := filepath.Join(root, ".tools", "bin", "temporal"); fileExists(p) {
		return p, nil
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("the Temporal CLI is missing: run `make tools` or set TEMPORAL_CLI")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func (e *env) startDevServer() error {
	cli, err := temporalCLI(e.root)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sa := temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrState).ValueSet(""),
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrConnectionID).ValueSet(""),
		temporal.NewSearchAttributeKeyKeyword(model.SearchAttrLastSyncStatus).ValueSet(""),
		temporal.NewSearchAttributeKeyTime(model.SearchAttrTokenExpiresAt).ValueSet(time.Time{}),
	)
	s, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:     cli,
		ClientOptions:    &client.Options{Namespace: "default"},
		DBFilename:       filepath.Join(e.dir, "temporal.db"),
		LogLevel:         "error",
		SearchAttributes: sa,
		ExtraArgs: []string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
			"--dynamic-config-value", "frontend.enableUpdateWorkflowExecution=true"},
	})
	if err != nil {
		return fmt.Errorf("starting the Temporal dev server (%s): %w", cli, err)
	}
	e.dev = s
	return nil
}

func (e *env) createDatabase() error {
	admin, err := sql.Open("postgres", e.adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("PostgreSQL is not reachable at %s (%v): run `make postgres`", e.adminURL, err)
	}
	e.dbName = "s1bench_" + randomHex(5)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+e.dbName); err != nil {
		return fmt.Errorf("creating the benchmark database: %w", err)
	}
	i := strings.LastIndex(e.adminURL, "/")
	rest := ""
	if q := strings.Index(e.adminURL[i:], "?"); q >= 0 {
		rest = e.adminURL[i+q:]
	}
	e.dbURL = e.adminURL[:i+1] + e.dbName + rest
	if e.db, err = sql.Open("postgres", e.dbURL); err != nil {
		return err
	}
	findPostmaster(ctx, e.db)
	return nil
}

func (e *env) dropDatabase() {
	if e.db != nil {
		_ = e.db.Close()
	}
	if e.dbName == "" {
		return
	}
	admin, err := sql.Open("postgres", e.adminURL)
	if err != nil {
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+e.dbName+" WITH (FORCE)")
}

func (e *env) close(keepDB bool) {
	e.mu.Lock()
	ws := append([]*worker(nil), e.workers...)
	e.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	if e.dev != nil {
		_ = e.dev.Stop()
	}
	if !keepDB {
		e.dropDatabase()
	} else if e.db != nil {
		fmt.Fprintf(os.Stderr, "keeping database %s\n", e.dbURL)
		_ = e.db.Close()
	}
	if e.logFile != nil {
		_ = e.logFile.Close()
	}
	_ = os.RemoveAll(e.dir)
}

func (e *env) baseEnv() []string {
	return append(os.Environ(),
		"TEMPORAL_ADDRESS="+e.dev.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE="+e.taskQueue,
		"DATABASE_URL="+e.dbURL,
		"CONNECTOR_ENCRYPTION_KEY="+e.key,
		"LOG_LEVEL="+cmp.Or(os.Getenv("BENCH_LOG_LEVEL"), "info"),
		"LOG_FORMAT=json",
	)
}

// worker is a running worker process.
type worker struct {
	cmd         *exec.Cmd
	done        chan error
	metricsAddr string
	stopOnce    sync.Once
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

func (e *env) startWorker() (*worker, error) {
	w := &worker{metricsAddr: freeAddr(), done: make(chan error, 1)}
	w.cmd = exec.Command(filepath.Join(e.binDir, "worker"))
	w.cmd.Env = append(append(e.baseEnv(), "METRICS_ADDR="+w.metricsAddr), workerOnlyEnv()...)
	w.cmd.Stdout, w.cmd.Stderr = e.logFile, e.logFile
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { w.done <- w.cmd.Wait() }()
	logf("worker pid %d, metrics on http://%s/metrics", w.cmd.Process.Pid, w.metricsAddr)
	e.mu.Lock()
	e.workers = append(e.workers, w)
	e.mu.Unlock()
	return w, nil
}

// workerOnlyEnv turns BENCH_WORKER_X=v into X=v for the workers alone (the starter shares the
// configuration parser and would refuse some of them, e.g. METRICS_PPROF without METRICS_ADDR):
// BENCH_WORKER_METRICS_PPROF=true serves the profiler on the worker's metrics address, which
// the bench logs.
func workerOnlyEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if rest, ok := strings.CutPrefix(kv, "BENCH_WORKER_"); ok {
			out = append(out, rest)
		}
	}
	return out
}

func (w *worker) pid() int { return w.cmd.Process.Pid }

func (w *worker) stop() {
	if w == nil || w.cmd.Process == nil {
		return
	}
	w.stopOnce.Do(func() {
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
	})
}

// peakRSS is the process's high-water resident set size (VmHWM) in bytes.
func (w *worker) peakRSS() int64 { return proccpu.StatusKB(w.pid(), "VmHWM:") * 1024 }

// resetPeakRSS resets VmHWM (Linux: writing 5 to clear_refs); false if not permitted.
func (w *worker) resetPeakRSS() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", w.pid()), []byte("5"), 0) == nil
}

// starter runs the starter binary: stdout, stderr, exit code.
func (e *env) starter(timeout time.Duration, args ...string) (string, string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.binDir, "starter"), args...)
	cmd.Env = e.baseEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	fmt.Fprintf(e.logFile, "starter %s\n%s\n", strings.Join(args, " "), errb.String())
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return out.String(), errb.String(), ee.ExitCode(), nil
		}
		return out.String(), errb.String(), -1, err
	}
	return out.String(), errb.String(), 0, nil
}

// syncWait runs `starter sync ID --wait --json` and returns the run summary and the wall time.
func (e *env) syncWait(id string, extra ...string) (model.RunSummary, time.Duration, error) {
	var sum model.RunSummary
	t0 := time.Now()
	out, errOut, code, err := e.starter(3*time.Hour, append([]string{"sync", id, "--wait", "--json"}, extra...)...)
	wall := time.Since(t0)
	if err != nil {
		return sum, wall, err
	}
	if code != 0 && strings.TrimSpace(out) == "" {
		return sum, wall, fmt.Errorf("starter sync %s exited %d: %s", id, code, strings.TrimSpace(errOut))
	}
	if jerr := json.Unmarshal([]byte(out), &sum); jerr != nil {
		return sum, wall, fmt.Errorf("starter sync %s exited %d with %q: %v", id, code, out, jerr)
	}
	return sum, wall, nil
}

func (e *env) temporalClient() (client.Client, error) {
	return client.Dial(client.Options{HostPort: e.dev.FrontendHostPort(), Namespace: "default",
		Logger: quietLogger{}})
}

// quietLogger drops the SDK's log lines.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// cpuSnap is the CPU time (user + system) the worker, this process (the simulator) and the
// benchmark's PostgreSQL server had used when it was taken.
type cpuSnap struct {
	worker, self, postgres time.Duration
}

// cpuUse is the CPU a phase cost, from the snapshots before and after it.
type cpuUse struct{ Worker, Simulator, Postgres time.Duration }

func (w *worker) cpuSnap() cpuSnap {
	return cpuSnap{worker: proccpu.Of(w.pid()), self: proccpu.Self(), postgres: postgresCPU()}
}

func (s cpuSnap) since(before cpuSnap) cpuUse {
	return cpuUse{Worker: s.worker - before.worker, Simulator: s.self - before.self, Postgres: s.postgres - before.postgres}
}

// postmasterPID is the benchmark's PostgreSQL server, 0 when it is not a process of this host.
var postmasterPID int

// findPostmaster sets postmasterPID from a connection of db, logging when PostgreSQL's CPU
// cannot be read here.
func findPostmaster(ctx context.Context, db *sql.DB) {
	if postmasterPID = proccpu.Postmaster(ctx, db); postmasterPID == 0 {
		logf("PostgreSQL's processes are not visible here: its CPU is reported as 0")
	}
}

// postgresCPU is the CPU the benchmark's PostgreSQL server has used (proccpu.Server).
func postgresCPU() time.Duration { return proccpu.Server(postmasterPID) }
