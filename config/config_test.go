package config

import (
	"strings"
	"testing"
	"time"
)

func TestHeartbeatTimeoutBounds(t *testing.T) {
	t.Setenv("SYNC_HEARTBEAT_TIMEOUT", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.HeartbeatTimeout != time.Minute {
		t.Fatalf("default SYNC_HEARTBEAT_TIMEOUT = %s, want 1m", c.HeartbeatTimeout)
	}
	for v, ok := range map[string]bool{"10s": true, "90s": true, "10m": true, "9s": false, "11m": false, "0s": false} {
		t.Setenv("SYNC_HEARTBEAT_TIMEOUT", v)
		_, err := Load()
		if ok != (err == nil) {
			t.Errorf("SYNC_HEARTBEAT_TIMEOUT=%s: err %v", v, err)
		}
		if err != nil && !strings.Contains(err.Error(), "SYNC_HEARTBEAT_TIMEOUT="+v) {
			t.Errorf("SYNC_HEARTBEAT_TIMEOUT=%s: the error does not name the setting: %v", v, err)
		}
	}
}

func TestPprofNeedsMetricsAddr(t *testing.T) {
	t.Setenv("METRICS_PPROF", "true")
	t.Setenv("METRICS_ADDR", "")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), "METRICS_PPROF=true needs METRICS_ADDR") {
		t.Fatalf("METRICS_PPROF without METRICS_ADDR: err %v", err)
	}
	t.Setenv("METRICS_ADDR", "127.0.0.1:9090")
	if _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

// The default soft memory limit follows the page budget.
func TestMemoryLimit(t *testing.T) {
	if got := (&Config{PagesInFlight: 4}).MemoryLimit(); got != 160<<20 {
		t.Fatalf("4 pages: %d MiB, want 160", got>>20)
	}
	if got := (&Config{PagesInFlight: 64}).MemoryLimit(); got != (96+16*64)<<20 {
		t.Fatalf("64 pages: %d MiB", got>>20)
	}
}

func TestPageCommitsBounds(t *testing.T) {
	t.Setenv("SYNC_PAGE_COMMITS", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.PageCommits != 2 {
		t.Fatalf("default SYNC_PAGE_COMMITS = %d, want 2", c.PageCommits)
	}
	for v, ok := range map[string]bool{"1": true, "8": true, "0": false, "9": false} {
		t.Setenv("SYNC_PAGE_COMMITS", v)
		_, err := Load()
		if ok != (err == nil) {
			t.Errorf("SYNC_PAGE_COMMITS=%s: err %v", v, err)
		}
		if err != nil && !strings.Contains(err.Error(), "SYNC_PAGE_COMMITS="+v) {
			t.Errorf("SYNC_PAGE_COMMITS=%s: the error does not name the setting: %v", v, err)
		}
	}
}
