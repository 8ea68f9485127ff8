package store

import (
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// COPY text format, written by the connector rather than by lib/pq's Exec: a CPU profile of the
// alerts full sync (100k alerts, 15 s sample) put 1.96 s of the worker's 8.23 s in copyRecords,
// 1.09 s of it in lib/pq's appendEscapedText, which appends byte by byte once a value holds a
// backslash (every JSON document with an escaped quote or a Windows path), and 0.3 s in
// database/sql's per-row argument conversion. appendCopyRow writes the text lib/pq's copyin.Exec
// would send for the values the write path passes (TestCopyRowMatchesDriver loads the same rows
// both ways into PostgreSQL and compares what is stored), and copyRows hands the lines to
// copyin.CopyData.

// appendCopyRow appends one COPY text line (values separated by tabs, no final newline).
func appendCopyRow(buf []byte, vals []any) ([]byte, error) {
	var err error
	for i, v := range vals {
		if i > 0 {
			buf = append(buf, '\t')
		}
		if buf, err = appendCopyValue(buf, v); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// appendCopyValue appends v as lib/pq's text encoding does. Types other than the ones the
// write path passes go through database/sql's default conversion (pointers dereferenced,
// driver.Valuer called, other integer kinds widened); what lib/pq's CheckNamedValue would turn
// into something else first (slices into arrays, uint64 above MaxInt64 into text) is an error
// here rather than a different encoding.
func appendCopyValue(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, `\N`...), nil
	case string:
		return appendCopyText(buf, x), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case float64:
		return strconv.AppendFloat(buf, x, 'f', -1, 64), nil
	case time.Time:
		return append(buf, pq.FormatTimestamp(x)...), nil
	case *time.Time:
		if x == nil {
			return append(buf, `\N`...), nil
		}
		return append(buf, pq.FormatTimestamp(*x)...), nil
	case []byte:
		// bytea's hex form, as lib/pq sends any []byte (nil too); its backslash escaped for COPY.
		buf = append(buf, `\\x`...)
		return hex.AppendEncode(buf, x), nil
	}
	dv, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return buf, fmt.Errorf("encoding a %T for COPY: %w", v, err)
	}
	switch dv.(type) {
	case nil, string, int64, bool, float64, time.Time, []byte:
		return appendCopyValue(buf, dv)
	}
	return buf, fmt.Errorf("encoding a %T for COPY: unsupported driver value %T (the COPY writer takes strings, numbers, bools, times and []byte; this is a bug, report it)", v, dv)
}

// appendCopyText appends s with COPY's escapes for backslash, newline, carriage return and tab.
// Runs without them are appended whole: a long value is searched with the runtime's vectorised
// IndexByte, a short one byte by byte.
func appendCopyText(buf []byte, s string) []byte {
	if len(s) < 64 {
		// Short values (most flat columns): one pass beats four calls.
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '\\' || c == '\n' || c == '\r' || c == '\t' {
				return appendCopyEscaped(buf, s)
			}
		}
		return append(buf, s...)
	}
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 && strings.IndexByte(s, '\t') < 0 {
		for {
			i := strings.IndexByte(s, '\\')
			if i < 0 {
				return append(buf, s...)
			}
			buf = append(buf, s[:i+1]...)
			buf = append(buf, '\\')
			s = s[i+1:]
		}
	}
	return appendCopyEscaped(buf, s)
}

// appendCopyEscaped is appendCopyText for a value with any of the four, one IndexAny at a time.
func appendCopyEscaped(buf []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, "\\\n\r\t")
		if i < 0 {
			return append(buf, s...)
		}
		buf = append(buf, s[:i]...)
		switch s[i] {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		}
		s = s[i+1:]
	}
}
