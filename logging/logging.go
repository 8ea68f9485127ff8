// Package logging builds the zerolog logger both binaries use, redacts secrets
// from everything it writes, and adapts it to the Temporal SDK logger interface so
// workflow, activity and application logs share one format.
package logging

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Log times carry milliseconds: a delta sync takes about a second, and per-second stamps
// could not tell where it went.
func init() { zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00" }

// New returns a logger writing to w (os.Stderr when nil) at level in format "json" or "console".
func New(w io.Writer, level, format string) zerolog.Logger {
	if w == nil {
		w = os.Stderr
	}
	rw := &RedactingWriter{W: w}
	var out io.Writer = rw
	if strings.EqualFold(format, "console") {
		out = zerolog.ConsoleWriter{Out: rw, TimeFormat: time.RFC3339}
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger()
}

var (
	secretsMu sync.RWMutex
	secrets   = map[string]struct{}{}
)

// RegisterSecret makes every logger of this process replace s with "[REDACTED]".
// Call it as soon as a token is read, before anything can log it.
func RegisterSecret(s string) {
	s = strings.TrimSpace(s)
	if len(s) < 8 {
		return
	}
	secretsMu.Lock()
	secrets[s] = struct{}{}
	secretsMu.Unlock()
}

// tokenLike matches things that look like credentials: an ApiToken/Bearer header value,
// and long runs of base64/hex characters typical of SentinelOne API tokens and JWTs.
var tokenLike = regexp.MustCompile(`(?i)((?:apitoken|bearer|token)[\s:=\"]+)[A-Za-z0-9._~+/=-]{16,}|[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{10,}|[A-Za-z0-9+/]{64,}={0,2}`)

// Redact removes registered secrets and token-like strings from b.
func Redact(b []byte) []byte {
	secretsMu.RLock()
	for s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte("[REDACTED]"))
		}
	}
	secretsMu.RUnlock()
	return tokenLike.ReplaceAllFunc(b, func(m []byte) []byte {
		if sub := tokenLike.FindSubmatch(m); len(sub) > 1 && len(sub[1]) > 0 {
			return append(append([]byte{}, sub[1]...), "[REDACTED]"...)
		}
		return []byte("[REDACTED]")
	})
}

// RedactingWriter scrubs secrets from every write before passing it on.
type RedactingWriter struct{ W io.Writer }

func (r *RedactingWriter) Write(p []byte) (int, error) {
	if _, err := r.W.Write(Redact(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
