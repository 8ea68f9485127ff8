package sentinelone

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Tolerant decoders for record fields. Real consoles and vendor fixtures are not
// always consistent about types (e.g. "firewallEnabled": "True", numbers sent as
// strings, timestamps with or without fractional seconds), so record structs in
// other packages should use these types for fields that are known to vary.

var jsonNull = []byte("null")

// unquote returns the string content if b is a JSON string, and ok=false otherwise.
func unquote(b []byte) (s string, ok bool, err error) {
	if len(b) == 0 || b[0] != '"' {
		return "", false, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return "", true, err
	}
	return s, true, nil
}

// FlexBool decodes true/false, "true"/"false"/"True"/"False"/"TRUE"/"1"/"0"/"t"/"f",
// the numbers 1/0, null and "" (both false). Other values are an error.
// It encodes as a plain JSON boolean.
type FlexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (b *FlexBool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, jsonNull) {
		*b = false
		return nil
	}
	s, isStr, err := unquote(data)
	if err != nil {
		return fmt.Errorf("sentinelone: FlexBool: %w", err)
	}
	if !isStr {
		s = string(data)
	}
	s = strings.TrimSpace(s)
	if isStr && (s == "" || strings.EqualFold(s, "null")) {
		*b = false
		return nil
	}
	v, perr := strconv.ParseBool(s)
	if perr != nil {
		return fmt.Errorf("sentinelone: FlexBool: cannot decode %s as a boolean", truncateForError(data))
	}
	*b = FlexBool(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (b FlexBool) MarshalJSON() ([]byte, error) { return json.Marshal(bool(b)) }

// Bool returns the value as a bool.
func (b FlexBool) Bool() bool { return bool(b) }

// FlexTime decodes RFC 3339 timestamps with or without fractional seconds,
// "Z" or a numeric offset, a space instead of "T" (Python str(datetime)),
// timestamps without a zone (assumed UTC), epoch seconds or milliseconds as a
// number, and null/"" (the zero time). The value is always stored in UTC.
// It encodes as RFC 3339 with nanoseconds, or null when zero.
type FlexTime struct{ time.Time }

var flexTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseFlexTime parses s with the same rules as FlexTime.UnmarshalJSON (for strings).
func ParseFlexTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "null") {
		return time.Time{}, nil
	}
	for _, l := range flexTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("sentinelone: cannot parse time %s (expected RFC 3339, e.g. 2022-04-21T05:14:08.925421Z)", truncateForError([]byte(strconv.Quote(s))))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *FlexTime) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, jsonNull) {
		t.Time = time.Time{}
		return nil
	}
	s, isStr, err := unquote(data)
	if err != nil {
		return fmt.Errorf("sentinelone: FlexTime: %w", err)
	}
	if !isStr {
		f, perr := strconv.ParseFloat(string(data), 64)
		if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e16 {
			return fmt.Errorf("sentinelone: FlexTime: cannot decode %s as a time", truncateForError(data))
		}
		// Heuristic: values beyond year ~2286 in seconds are milliseconds.
		if math.Abs(f) >= 1e10 {
			t.Time = time.UnixMilli(int64(f)).UTC()
		} else {
			t.Time = time.Unix(int64(f), 0).UTC()
		}
		return nil
	}
	v, perr := ParseFlexTime(s)
	if perr != nil {
		return perr
	}
	t.Time = v
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t FlexTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// FlexInt decodes a JSON number (integral, e.g. 5 or 5.0 or 1e3), a numeric
// string ("42", " 42 ", "5.0"), null or "" (zero). Non-integral or non-numeric
// values are an error. It encodes as a JSON number.
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *FlexInt) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, jsonNull) {
		*n = 0
		return nil
	}
	s, isStr, err := unquote(data)
	if err != nil {
		return fmt.Errorf("sentinelone: FlexInt: %w", err)
	}
	if !isStr {
		s = string(data)
	}
	s = strings.TrimSpace(s)
	if isStr && (s == "" || strings.EqualFold(s, "null")) {
		*n = 0
		return nil
	}
	if v, perr := strconv.ParseInt(s, 10, 64); perr == nil {
		*n = FlexInt(v)
		return nil
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil || f != math.Trunc(f) || math.IsInf(f, 0) || f >= math.MaxInt64 || f < math.MinInt64 {
		return fmt.Errorf("sentinelone: FlexInt: cannot decode %s as an integer", truncateForError(data))
	}
	*n = FlexInt(int64(f))
	return nil
}

// MarshalJSON implements json.Marshaler.
func (n FlexInt) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(n), 10)), nil }

// Int64 returns the value as an int64.
func (n FlexInt) Int64() int64 { return int64(n) }

// FlexString decodes a JSON string, number or boolean into its textual form;
// null becomes "". Objects and arrays are an error.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, jsonNull) {
		*s = ""
		return nil
	}
	v, isStr, err := unquote(data)
	if err != nil {
		return fmt.Errorf("sentinelone: FlexString: %w", err)
	}
	if isStr {
		*s = FlexString(v)
		return nil
	}
	if len(data) > 0 && (data[0] == '{' || data[0] == '[') {
		return fmt.Errorf("sentinelone: FlexString: cannot decode %s as a string", truncateForError(data))
	}
	if !json.Valid(data) {
		return fmt.Errorf("sentinelone: FlexString: invalid JSON %s", truncateForError(data))
	}
	*s = FlexString(data)
	return nil
}

// String returns the value as a string.
func (s FlexString) String() string { return string(s) }

func truncateForError(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
