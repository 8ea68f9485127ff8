// Package filters parses and validates a connection's per-stream filters file
// (Torq's semantics: a JSON object keyed by stream whose values are comma-separated
// strings; arrays are joined and booleans accepted).
package filters

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/model"
)

// controlled are the query parameters the connector sets itself.
var controlled = map[string]string{
	"cursor":     "the connector pages with cursors itself",
	"limit":      "the connector always asks for the maximum page size (1000)",
	"skip":       "the connector pages with cursors, not skip",
	"sortBy":     "the delta sync needs its own sort order",
	"sortOrder":  "the delta sync needs its own sort order",
	"countOnly":  "the connector needs the records, not a count",
	"skipCount":  "the connector reads totalItems for progress",
	"accountIds": "use --account-ids, which scopes every stream",
	"siteIds":    "use --site-ids, which scopes every stream",
	"apiToken":   "tokens never go in filters",
}

// deltaKeys are the timestamp parameters each stream's delta walk owns.
var deltaKeys = map[string][]string{
	model.StreamAgents:          {"updatedAt__gt", "updatedAt__gte"},
	model.StreamThreats:         {"updatedAt__gt", "updatedAt__gte"},
	model.StreamAlerts:          {"createdAt__gte", "createdAt__gt"},
	model.StreamVulnerabilities: {"riskUpdatedDate__gte", "riskUpdatedDate__gt"},
}

// Parse reads a filters document and returns the normalised filters per stream.
func Parse(data []byte) (map[string]map[string]string, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("the filters file is empty: write a JSON object keyed by stream, e.g. {\"threats\": {\"confidenceLevels\": \"malicious\"}}")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the filters file is not a JSON object keyed by stream: %v", err)
	}
	out := map[string]map[string]string{}
	streams := make([]string, 0, len(doc))
	for s := range doc {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, stream := range streams {
		if !known(stream) {
			return nil, fmt.Errorf("filters: unknown stream %q (streams: %s)", stream, strings.Join(model.AllStreams, ", "))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(doc[stream], &obj); err != nil {
			return nil, fmt.Errorf("filters.%s must be an object of parameter: value pairs", stream)
		}
		m := map[string]string{}
		for k, raw := range obj {
			if why, ok := controlled[k]; ok {
				return nil, fmt.Errorf("filters.%s.%s is set by the connector and cannot be overridden: %s", stream, k, why)
			}
			if contains(deltaKeys[stream], k) || contains(backfillKeys[stream], k) {
				return nil, fmt.Errorf("filters.%s.%s is the delta watermark the connector manages: use --lookback / --backfill to choose how far back to read", stream, k)
			}
			if allowed := Allowed(stream); allowed != nil && !contains(allowed, k) {
				return nil, fmt.Errorf("filters.%s.%s is not a parameter of that endpoint: did you mean %q?", stream, k, closest(k, allowed))
			}
			v, err := value(raw)
			if err != nil {
				return nil, fmt.Errorf("filters.%s.%s: %v", stream, k, err)
			}
			if field, op, ok := strings.Cut(k, "__"); ok && timeFields[field] && op != "between" {
				if _, err := parseTime(v); err != nil {
					return nil, fmt.Errorf("filters.%s.%s: %q is not an ISO-8601 timestamp like 2024-01-16T00:00:00.000000Z", stream, k, v)
				}
			}
			m[k] = v
		}
		out[stream] = m
	}
	return out, nil
}

func known(s string) bool {
	for _, x := range model.AllStreams {
		if x == s {
			return true
		}
	}
	return false
}

// value normalises a filter value: strings as is, arrays of scalars joined with commas,
// booleans and numbers as their text.
func value(raw json.RawMessage) (string, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" {
			return "", errors.New("empty value: remove the key or give a value")
		}
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case json.Number:
		return x.String(), nil
	case []any:
		parts := make([]string, 0, len(x))
		for i, e := range x {
			switch y := e.(type) {
			case string:
				parts = append(parts, y)
			case bool:
				parts = append(parts, strconv.FormatBool(y))
			case json.Number:
				parts = append(parts, y.String())
			default:
				return "", fmt.Errorf("element %d is %s: arrays may hold only strings, numbers or booleans", i, kind(e))
			}
		}
		if len(parts) == 0 {
			return "", errors.New("empty array: remove the key or give a value")
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("is %s: use a string (comma-separated for several values), an array of strings, or a boolean", kind(v))
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a timestamp")
}
