package ocsf

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// Tolerant JSON scalar types for decoding console objects. The console (and fixtures
// captured from it through Python tooling) sends booleans as "True"/"False", absent values
// as null, "" or the string "None", and numbers sometimes as strings. These types accept
// all of that; anything else is a *json.UnmarshalTypeError, which encoding/json decorates
// with the offending field path.
//
// They are local on purpose (the API client package is written concurrently); if the
// client grows equivalents, the transforms can switch without changing behaviour.

// The decoders call these types' UnmarshalJSON directly (internal/fastjson/plan.go).
func init() {
	fastjson.RegisterUnmarshaler[FlexString]()
	fastjson.RegisterUnmarshaler[FlexStrings]()
	fastjson.RegisterUnmarshaler[FlexBool]()
	fastjson.RegisterUnmarshaler[FlexInt]()
	fastjson.RegisterUnmarshaler[FlexTime]()
	fastjson.RegisterUnmarshaler[json.RawMessage]()
	fastjson.RegisterUnmarshaler[s1Engine]()
}

// isNullish reports JSON null or one of the string spellings of "no value".
func isNullish(b []byte) bool {
	switch string(b) {
	case "null", `""`, `"None"`, `"none"`, `"null"`, `"NULL"`, `"Null"`, `"N/A"`:
		return true
	}
	return false
}

// unquote returns the content of a JSON string literal; strings without escapes are taken
// as they are, the others unescaped as encoding/json does (fastjson.Unquote).
func unquote(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	return fastjson.Unquote(b)
}

func typeErr(b []byte, t reflect.Type) error {
	v := string(b)
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return &json.UnmarshalTypeError{Value: v, Type: t}
}

// FlexString is a string that also accepts numbers and booleans (kept as their literal
// text) and treats null / "None" as empty. Objects and arrays are errors.
type FlexString string

var flexStringType = reflect.TypeFor[FlexString]()

// UnmarshalJSON implements json.Unmarshaler.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return typeErr(b, flexStringType)
	}
	switch b[0] {
	case '"':
		v, ok := unquote(b)
		if !ok {
			return typeErr(b, flexStringType)
		}
		if v == "None" || v == "null" {
			v = ""
		}
		*s = FlexString(v)
		return nil
	case 'n':
		*s = ""
		return nil
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		*s = FlexString(b)
		return nil
	}
	return typeErr(b, flexStringType)
}

// String returns the value with surrounding space trimmed.
func (s FlexString) String() string { return strings.TrimSpace(string(s)) }

// FlexStrings is a list of strings; it accepts null (empty), a single string (a
// one-element list) and arrays whose null / "None" / "" elements are dropped.
type FlexStrings []string

var flexStringsType = reflect.TypeFor[FlexStrings]()

// UnmarshalJSON implements json.Unmarshaler.
func (l *FlexStrings) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return typeErr(b, flexStringsType)
	}
	switch b[0] {
	case 'n':
		*l = nil
		return nil
	case '"':
		var s FlexString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		if v := s.String(); v != "" {
			*l = FlexStrings{v}
		} else {
			*l = nil
		}
		return nil
	case '[':
		var raw []FlexString
		if err := json.Unmarshal(b, &raw); err != nil {
			return typeErr(b, flexStringsType)
		}
		out := make(FlexStrings, 0, len(raw))
		for _, s := range raw {
			if v := s.String(); v != "" {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			out = nil
		}
		*l = out
		return nil
	}
	return typeErr(b, flexStringsType)
}

// FlexBool is an optional boolean: Valid is false when the field was absent, null or
// "None". It accepts true/false, "true"/"True"/"TRUE", "false"/"False", "1"/"0",
// "yes"/"no" and the numbers 1 / 0.
type FlexBool struct {
	Value bool
	Valid bool
}

var flexBoolType = reflect.TypeFor[FlexBool]()

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexBool) UnmarshalJSON(b []byte) error {
	if isNullish(b) {
		*f = FlexBool{}
		return nil
	}
	s := string(b)
	if len(b) >= 2 && b[0] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y", "t":
		*f = FlexBool{Value: true, Valid: true}
	case "false", "0", "no", "n", "f":
		*f = FlexBool{Value: false, Valid: true}
	default:
		return typeErr(b, flexBoolType)
	}
	return nil
}

// Ptr returns nil when absent, else a pointer to the value (for omitempty output).
func (f FlexBool) Ptr() *bool {
	if !f.Valid {
		return nil
	}
	v := f.Value
	return &v
}

// FlexInt is an optional integer; it accepts numbers (integral floats too), numeric
// strings, and null / "" / "None" (Valid false).
type FlexInt struct {
	Value int64
	Valid bool
}

var flexIntType = reflect.TypeFor[FlexInt]()

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	if isNullish(b) {
		*f = FlexInt{}
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if len(b) < 2 {
			return typeErr(b, flexIntType)
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = FlexInt{Value: n, Valid: true}
		return nil
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && x == float64(int64(x)) {
		*f = FlexInt{Value: int64(x), Valid: true}
		return nil
	}
	return typeErr(b, flexIntType)
}

// Ptr returns nil when absent, else a pointer to the value.
func (f FlexInt) Ptr() *int64 {
	if !f.Valid {
		return nil
	}
	v := f.Value
	return &v
}

// FlexTime is an optional timestamp. It accepts the forms the console and its
// fixtures use: RFC 3339 with or without fraction ("2019-06-27T08:01:05.571895Z",
// "...+00:00"), Python str(datetime) ("2024-01-01 00:00:00.123000+00:00"), a zone-less
// ISO form (read as UTC), a bare date, and epoch numbers (seconds, or milliseconds when
// larger than 1e11). null / "" / "None" and the Unix epoch sentinel
// "1970-01-01T00:00:00Z" mean absent. The value is always in UTC.
type FlexTime struct {
	time.Time
}

var flexTimeType = reflect.TypeFor[FlexTime]()

var timeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02",
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexTime) UnmarshalJSON(b []byte) error {
	if isNullish(b) {
		f.Time = time.Time{}
		return nil
	}
	if b[0] != '"' {
		t, ok := epoch(string(b))
		if !ok {
			return typeErr(b, flexTimeType)
		}
		f.Time = t
		f.normalize()
		return nil
	}
	s, ok := unquote(b)
	if !ok {
		return typeErr(b, flexTimeType)
	}
	t, ok := parseTime(strings.TrimSpace(s))
	if !ok {
		return typeErr(b, flexTimeType)
	}
	f.Time = t
	f.normalize()
	return nil
}

func (f *FlexTime) normalize() {
	if f.Time.Unix() == 0 {
		f.Time = time.Time{}
		return
	}
	f.Time = f.Time.UTC()
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return epoch(s) // epoch numbers sent as strings
}

// maxEpochMillis is 9999-12-31T23:59:59.999Z; larger epochs are rejected as malformed.
const maxEpochMillis = 253402300799999

// epoch reads seconds, or milliseconds when |x| > 1e11, since the Unix epoch.
func epoch(s string) (time.Time, bool) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != x {
		return time.Time{}, false
	}
	if x > 1e11 || x < -1e11 {
		if x > maxEpochMillis || x < -maxEpochMillis {
			return time.Time{}, false
		}
		return time.UnixMilli(int64(x)), true
	}
	return time.Unix(int64(x), 0), true
}

// Millis is the OCSF timestamp_t (milliseconds since the epoch), 0 when absent.
func (f FlexTime) Millis() int64 {
	if f.IsZero() {
		return 0
	}
	return f.UnixMilli()
}

// Ptr returns nil when absent (a NULL column), else a pointer to a copy.
func (f FlexTime) Ptr() *time.Time {
	if f.IsZero() {
		return nil
	}
	t := f.Time
	return &t
}

// ISO renders the time as RFC 3339 (UTC, microsecond precision as the console sends it),
// "" when absent.
func (f FlexTime) ISO() string {
	if f.IsZero() {
		return ""
	}
	return f.Format("2006-01-02T15:04:05.999999Z07:00")
}
