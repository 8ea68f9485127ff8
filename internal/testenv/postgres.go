package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Postgres is a PostgreSQL cluster of the test's own, for tests that stop, crash or restart
// the server: the shared one at TEST_POSTGRES_URL serves other test packages concurrently.
// It listens on 127.0.0.1 only (no Unix socket), on a free port, with trust authentication,
// and is stopped and deleted at cleanup.
type Postgres struct {
	t    testing.TB
	bin  string // directory holding initdb, pg_ctl
	base string // temporary directory: data/, postgres.log
	data string
	log  string
	port int
	// runAs is the OS user that runs initdb and pg_ctl ("" = the current user); both refuse root.
	runAs string
}

// PostgresBinDir finds initdb and pg_ctl: $PG_BIN, the newest /usr/lib/postgresql/*/bin, or PATH.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
		return "", fmt.Errorf("PG_BIN=%s holds no pg_ctl", d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if fileExists(filepath.Join(d, "initdb")) && fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		if fileExists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("initdb and pg_ctl not found (install PostgreSQL's server package or set PG_BIN)")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres initialises and starts a private cluster. A missing PostgreSQL installation
// fails the test under CI=true and skips it elsewhere.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := PostgresBinDir()
	if err != nil {
		missing(t, "a private PostgreSQL cluster: %v", err)
	}
	p := &Postgres{t: t, bin: bin}
	if os.Geteuid() == 0 {
		// initdb and pg_ctl refuse to run as root: run them as the postgres OS user.
		if _, err := user.Lookup("postgres"); err != nil {
			missing(t, "a private PostgreSQL cluster: running as root needs a `postgres` OS user to run initdb and pg_ctl: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			missing(t, "a private PostgreSQL cluster: running as root needs runuser (util-linux): %v", err)
		}
		p.runAs = "postgres"
	}
	p.base, err = os.MkdirTemp("", "s1pg-")
	Must(t, err, "creating the cluster directory")
	t.Cleanup(p.cleanup)
	if p.runAs != "" {
		out, err := exec.Command("chown", p.runAs+":", p.base).CombinedOutput()
		Must(t, err, "chown %s: %s", p.base, out)
	}
	p.data = filepath.Join(p.base, "data")
	p.log = filepath.Join(p.base, "postgres.log")
	p.port = freePort(t)
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\n# s1conn test cluster\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = ''\nmax_connections = 100\n", p.port)
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	Must(t, err, "opening postgresql.conf")
	_, err = f.WriteString(conf)
	Must(t, err, "writing postgresql.conf")
	Must(t, f.Close(), "writing postgresql.conf")
	Must(t, p.Start(), "starting the private PostgreSQL cluster")
	return p
}

// run runs one of the cluster's binaries, as runAs when set.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	path := filepath.Join(p.bin, name)
	var cmd *exec.Cmd
	if p.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = p.base
	return cmd.CombinedOutput()
}

// Addr is the cluster's host:port.
func (p *Postgres) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// URL is the connection URL of database db as the superuser.
func (p *Postgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", p.Addr(), db)
}

// CreateDatabase creates database name and returns its URL.
func (p *Postgres) CreateDatabase(name string) string {
	p.t.Helper()
	db, err := sql.Open("postgres", p.URL("postgres"))
	Must(p.t, err, "opening the private cluster")
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, "CREATE DATABASE "+name)
	Must(p.t, err, "creating database %s", name)
	return p.URL(name)
}

// Start starts the (stopped) cluster and waits until it accepts connections.
func (p *Postgres) Start() error {
	if out, err := p.run("pg_ctl", "-D", p.data, "-l", p.log, "-w", "-t", "120", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, p.Log())
	}
	return nil
}

// Stop stops the cluster: mode "immediate" is a crash (no checkpoint, every backend killed;
// the next start replays the WAL), "fast" a clean shutdown.
func (p *Postgres) Stop(mode string) error {
	if out, err := p.run("pg_ctl", "-D", p.data, "-m", mode, "-w", "-t", "120", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	return nil
}

// Running reports whether the postmaster is up.
func (p *Postgres) Running() bool {
	_, err := p.run("pg_ctl", "-D", p.data, "status")
	return err == nil
}

// Log returns the server log.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func (p *Postgres) cleanup() {
	if p.data != "" && fileExists(filepath.Join(p.data, "postmaster.pid")) {
		if err := p.Stop("fast"); err != nil {
			_ = p.Stop("immediate")
		}
	}
	if p.t.Failed() {
		if l := p.Log(); l != "" {
			p.t.Logf("private PostgreSQL log (last 4 kB):\n%s", tail(l, 4096))
		}
	}
	_ = os.RemoveAll(p.base)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Must(t, err, "finding a free port")
	port := l.Addr().(*net.TCPAddr).Port
	Must(t, l.Close(), "finding a free port")
	return port
}
