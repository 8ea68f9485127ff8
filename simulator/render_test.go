package simulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRenderMatchesEncodingJSON: the simulator's objects encode with internal/fastjson
// (mustJSON) exactly as encoding/json encodes them.
func TestRenderMatchesEncodingJSON(t *testing.T) {
	s := New(Options{Seed: 3, Agents: 50, Alerts: 50})
	s.alerts.mu.RLock()
	defer s.alerts.mu.RUnlock()
	for v := range 50 {
		for _, obj := range []any{s.agents.build(v, nil), s.alerts.object(v)} {
			want, err := json.Marshal(obj)
			require.NoError(t, err)
			require.Equal(t, string(want), string(mustJSON(obj)), "%T %d", obj, v)
		}
	}
}

// TestFormattersMatchFmt: hexN, mac and fmtMicros write what the fmt / time versions they
// replaced wrote.
func TestFormattersMatchFmt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		seed := r.Uint64()
		a, b := &prng{s: seed}, &prng{s: seed}
		n := i % 70
		var sb strings.Builder
		for sb.Len() < n {
			fmt.Fprintf(&sb, "%016x", b.next())
		}
		require.Equal(t, sb.String()[:n], a.hexN(n))
		v := b.next()
		require.Equal(t, fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(v)&0xfe, byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40)), a.mac())
		us := r.Int64N(4_000_000_000_000_000) // to 2096
		if i%4 == 0 {
			us = r.Int64N(1<<62) - 1<<61 // far outside 0000-9999 too
		}
		require.Equal(t, time.UnixMicro(us).UTC().Format(tsLayout), fmtMicros(us), "%d", us)
	}
}
