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
