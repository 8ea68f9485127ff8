package logging

import (
	"fmt"

	"github.com/rs/zerolog"
	"go.temporal.io/sdk/log"
)

// TemporalLogger adapts zerolog to go.temporal.io/sdk/log.Logger.
type TemporalLogger struct {
	zl zerolog.Logger
}

var (
	_ log.Logger          = (*TemporalLogger)(nil)
	_ log.WithLogger      = (*TemporalLogger)(nil)
	_ log.WithSkipCallers = (*TemporalLogger)(nil)
)

// NewTemporalLogger wraps zl for the Temporal SDK.
func NewTemporalLogger(zl zerolog.Logger) *TemporalLogger { return &TemporalLogger{zl: zl} }

func (l *TemporalLogger) fields(e *zerolog.Event, keyvals []any) *zerolog.Event {
	for i := 0; i < len(keyvals); i += 2 {
		k := fmt.Sprint(keyvals[i])
		if i+1 >= len(keyvals) {
			e = e.Interface("extra", keyvals[i])
			break
		}
		switch v := keyvals[i+1].(type) {
		case error:
			e = e.AnErr(k, v)
		case fmt.Stringer:
			e = e.Str(k, v.String())
		default:
			e = e.Interface(k, v)
		}
	}
	return e
}

// Debug logs at debug level.
func (l *TemporalLogger) Debug(msg string, keyvals ...any) { l.fields(l.zl.Debug(), keyvals).Msg(msg) }

// Info logs at info level.
func (l *TemporalLogger) Info(msg string, keyvals ...any) { l.fields(l.zl.Info(), keyvals).Msg(msg) }

// Warn logs at warn level.
func (l *TemporalLogger) Warn(msg string, keyvals ...any) { l.fields(l.zl.Warn(), keyvals).Msg(msg) }

// Error logs at error level.
func (l *TemporalLogger) Error(msg string, keyvals ...any) { l.fields(l.zl.Error(), keyvals).Msg(msg) }

// With returns a logger with keyvals attached.
func (l *TemporalLogger) With(keyvals ...any) log.Logger {
	ctx := l.zl.With()
	for i := 0; i+1 < len(keyvals); i += 2 {
		ctx = ctx.Interface(fmt.Sprint(keyvals[i]), keyvals[i+1])
	}
	return &TemporalLogger{zl: ctx.Logger()}
}

// WithCallerSkip is accepted for interface compatibility; zerolog adds no caller by default.
func (l *TemporalLogger) WithCallerSkip(int) log.Logger { return l }
