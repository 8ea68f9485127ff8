// Package fastjson decodes and encodes JSON on the hot path of a sync with goccy/go-json,
// keeping encoding/json as the reference: any input the fast decoder rejects (or panics on)
// (after encoding/json's validator accepted it) is decoded again by encoding/json, whose result and error are the ones returned. Errors
// therefore read exactly as before (encoding/json names the JSON field path), and an
// incompatibility of the fast decoder can cost time but never change what is decoded from
// input encoding/json rejects.
//
// Why: a CPU profile of the agents full sync (bench/results.md) spent 43% of the worker's
// CPU in the OCSF transform, 80% of that in encoding/json. With the validator gate below,
// 5,000 agent + 5,000 threat transforms (ocsf BenchmarkAgent/BenchmarkThreat, -cpu 1,
// fixed iterations) took 0.76–0.81 s of CPU instead of 1.07 s.
package fastjson

import (
	"encoding/json"
	"reflect"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Unmarshal is json.Unmarshal, faster on valid input. The fast decoder only sees input that
// encoding/json's validator accepts: it is more lenient (control characters in strings, for
// one), and what encoding/json rejects must stay rejected. It also only sees valid UTF-8:
// encoding/json replaces invalid bytes in strings with U+FFFD, goccy keeps them. On the
// fallback path v is reset first, so defaults set in v before the call do not survive (for a
// type with a plan, plan.go, neither when the plan hands the input on to goccy).
func Unmarshal(data []byte, v any) error {
	if json.Valid(data) && utf8.Valid(data) && fast(data, v) == nil {
		return nil
	}
	// Start the reference decode from a clean value: the fast one may have filled part of it.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(data, v)
}

// UnmarshalValid is Unmarshal for data the caller has already proved to be valid JSON and
// valid UTF-8 (e.g. an item of a page whose whole body passed both checks): it skips the
// per-call validators, which a CPU profile of a full sync put at ~11% of the worker's CPU,
// redundant with the page's own check. Same result and errors as Unmarshal on such input.
func UnmarshalValid(data []byte, v any) error {
	if fast(data, v) == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(data, v)
}

func fast(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errPanic
		}
	}()
	if tried, ok := decodePlanned(data, v); ok {
		return nil
	} else if tried {
		reflect.ValueOf(v).Elem().SetZero()
	}
	return gojson.Unmarshal(data, v)
}

// Marshal is json.Marshal (same output: sorted map keys, HTML-safe escaping), faster.
func Marshal(v any) (b []byte, err error) {
	b, err = fastMarshal(v)
	if err == nil {
		return b, nil
	}
	return json.Marshal(v)
}

func fastMarshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, errPanic
		}
	}()
	return gojson.Marshal(v)
}

type panicError struct{}

func (panicError) Error() string { return "fastjson: the fast codec panicked" }

var errPanic error = panicError{}
