// Package proccpu reads the CPU time and memory of processes of this host from /proc (Linux),
// for benchmarks: the worker's, the simulator's and the PostgreSQL server's share of a sync.
package proccpu

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Of is a process's utime + stime (0 when it cannot be read).
func Of(pid int) time.Duration {
	t, _ := times(pid)
	return t
}

// Self is this process's utime + stime.
func Self() time.Duration { return Of(os.Getpid()) }

// StatusKB is a "<field> <n> kB" (or plain number) line of /proc/<pid>/status, e.g. "VmHWM:"
// or "PPid:"; 0 when absent.
func StatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}

// Postmaster is the PostgreSQL server db talks to, as a process of this host: the parent of
// the backend serving one of db's connections. 0 when it is not visible here (another host or
// container).
func Postmaster(ctx context.Context, db *sql.DB) int {
	var backend int
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err == nil {
		if ppid := StatusKB(backend, "PPid:"); ppid > 1 {
			return int(ppid)
		}
	}
	return 0
}

// Server is the CPU a PostgreSQL server has used: the postmaster's own, that of its live
// children (backends, WAL writer, checkpointer, …) and that of the children it has reaped
// (its cutime/cstime), so a backend that exits during a phase still counts. 0 for pid 0.
func Server(postmaster int) time.Duration {
	if postmaster == 0 {
		return 0
	}
	own, reaped := times(postmaster)
	total := own + reaped
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == postmaster {
			continue
		}
		if StatusKB(pid, "PPid:") == int64(postmaster) {
			t, _ := times(pid)
			total += t
		}
	}
	return total
}

// times reads /proc/<pid>/stat: utime + stime, and cutime + cstime (reaped children), in
// clock ticks of 10 ms.
func times(pid int) (own, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces: f[0] is
	// field 3 (state), so fields 14-17 are f[11]-f[14].
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, 0
	}
	var v [4]int64
	for j := range v {
		v[j], _ = strconv.ParseInt(f[11+j], 10, 64)
	}
	tick := 10 * time.Millisecond
	return time.Duration(v[0]+v[1]) * tick, time.Duration(v[2]+v[3]) * tick
}
