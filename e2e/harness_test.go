// Package e2e runs the real binaries (worker, starter) against a real Temporal dev
// server, real PostgreSQL and the HTTPS console simulator.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/internal/testenv"
	"github.com/sentinelone-connector/s1conn/simulator"
	"github.com/sentinelone-connector/s1conn/store"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "s1e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, _ := filepath.Abs("..")
	cmd := exec.Command("go", "build", "-o", dir+"/", "./worker", "./starter")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t         *testing.T
	dir       string
	sim       *simulator.Simulator
	srv       *simulator.Server
	dev       *testsuite.DevServer
	dbURL     string
	store     *store.Store
	env       []string
	token     string
	tokenFile string
	caFile    string
	logs      *syncBuffer
}

type harnessOpts struct {
	agents int
	sim    simulator.Options
	// dbURL, when set, is the database the binaries use (e.g. on a private cluster the test
	// restarts); default: a fresh database on the shared server.
	dbURL string
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	// E2E_LOG_DIR keeps the worker and starter logs of a failed test for diagnosis.
	if dir := os.Getenv("E2E_LOG_DIR"); dir != "" {
		t.Cleanup(func() {
			if t.Failed() {
				p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".log")
				if err := os.WriteFile(p, []byte(h.logs.String()), 0o600); err == nil {
					t.Logf("worker and starter logs: %s", p)
				}
			}
		})
	}
	h.dbURL = o.dbURL
	if h.dbURL == "" {
		h.dbURL = testenv.PostgresURL(t)
	}
	h.dev = testenv.DevServer(t, "")
	so := o.sim
	so.Agents = o.agents
	so.Seed = 42
	h.sim = simulator.New(so)
	srv, err := h.sim.Start(true)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	// Read-only proof across the whole suite: every request any test made to the console was a GET
	// (or the read-only token-details POST).
	t.Cleanup(func() {
		for _, r := range h.sim.Requests() {
			if r.Method != "GET" && !(r.Method == "POST" && strings.HasSuffix(r.Path, "/users/api-token-details")) {
				t.Errorf("the connector sent %s %s to the console", r.Method, r.Path)
			}
		}
	})
	h.srv = srv
	h.caFile = filepath.Join(h.dir, "ca.pem")
	require.NoError(t, os.WriteFile(h.caFile, srv.CAPEM, 0o600))
	h.token = simulator.DefaultToken
	h.tokenFile = h.writeToken(h.token)
	key, err := codec.GenerateKey()
	require.NoError(t, err)
	h.env = append(os.Environ(),
		"TEMPORAL_ADDRESS="+h.dev.FrontendHostPort(),
		"TEMPORAL_NAMESPACE=default",
		"TEMPORAL_TASK_QUEUE=e2e-"+testenv.RandomHex(4),
		"DATABASE_URL="+h.dbURL,
		"CONNECTOR_ENCRYPTION_KEY="+key,
		"LOG_LEVEL=debug",
		"LOG_FORMAT=json",
	)
	ctx := context.Background()
	st, err := store.Open(ctx, h.dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	h.store = st
	return h
}

func (h *harness) writeToken(tok string) string {
	p := filepath.Join(h.dir, "token-"+testenv.RandomHex(3))
	require.NoError(h.t, os.WriteFile(p, []byte(tok+"\n"), 0o600))
	return p
}

// setTemporal points the binaries at another Temporal address.
func (h *harness) setTemporal(addr string) {
	for i, kv := range h.env {
		if strings.HasPrefix(kv, "TEMPORAL_ADDRESS=") {
			h.env[i] = "TEMPORAL_ADDRESS=" + addr
		}
	}
}

type proc struct {
	cmd  *exec.Cmd
	done chan error
}

// startWorker runs the worker binary; it is killed at cleanup.
func (h *harness) startWorker(extraEnv ...string) *proc {
	h.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "worker"))
	cmd.Env = append(append([]string{}, h.env...), extraEnv...)
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	require.NoError(h.t, cmd.Start())
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	h.t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

func (p *proc) stop(sig syscall.Signal) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill SIGKILLs the worker and waits for it to die.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// starter runs the starter binary and returns stdout, stderr and the exit code.
func (h *harness) starter(args ...string) (string, string, int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "starter"), args...)
	cmd.Env = h.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	_, _ = h.logs.Write([]byte("starter " + strings.Join(args, " ") + "\n" + errb.String()))
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(h.t, ok, "running starter: %v", err)
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// mustStarter runs the starter and fails the test on a non-zero exit.
func (h *harness) mustStarter(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.starter(args...)
	require.Equal(h.t, 0, code, "starter %v failed: %s\n%s", args, errOut, out)
	return out
}

func (h *harness) create(id string, extra ...string) {
	h.t.Helper()
	args := append([]string{"connection", "create", "--id", id, "--console-url", h.srv.URL,
		"--token-file", h.tokenFile, "--ca-file", h.caFile, "--schedule", "24h"}, extra...)
	h.mustStarter(args...)
}
