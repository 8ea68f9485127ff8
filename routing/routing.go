// Package routing parses and validates routes files, decides which routes a stored change
// fires, and signs webhook deliveries.
package routing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sentinelone-connector/s1conn/model"
)

// RoutableStreams are the streams whose changes can be routed.
var RoutableStreams = []string{model.StreamThreats, model.StreamAlerts, model.StreamVulnerabilities}

var triggers = []string{model.TriggerNew, model.TriggerChanged, model.TriggerResolved}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse reads a routes document ({"threats": [route, …], …}) and validates every route.
// Webhook CA files are read into the route (the worker may run elsewhere).
func Parse(data []byte) (map[string][]model.Route, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("the routes file is empty: write a JSON object keyed by stream, e.g. {\"threats\": [{\"on\": [\"new\"], \"workflow\": {\"type\": \"TriageThreat\", \"taskQueue\": \"triage\"}}]}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc map[string][]model.Route
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the routes file is not a JSON object of route lists keyed by stream: %v", err)
	}
	streams := make([]string, 0, len(doc))
	for s := range doc {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	names := map[string]bool{}
	for _, stream := range streams {
		if !contains(RoutableStreams, stream) {
			return nil, fmt.Errorf("routes: stream %q cannot be routed (use %s)", stream, strings.Join(RoutableStreams, ", "))
		}
		for i := range doc[stream] {
			r := &doc[stream][i]
			where := fmt.Sprintf("routes.%s[%d]", stream, i)
			if err := validate(r, where); err != nil {
				return nil, err
			}
			id := ID(stream, i, *r)
			if names[id] {
				return nil, fmt.Errorf("%s: route name %q is used twice", where, r.Name)
			}
			names[id] = true
		}
	}
	return doc, nil
}

func validate(r *model.Route, where string) error {
	if len(r.On) == 0 {
		return fmt.Errorf("%s: \"on\" lists no trigger (use %s)", where, strings.Join(triggers, ", "))
	}
	for _, t := range r.On {
		if !contains(triggers, t) {
			return fmt.Errorf("%s: unknown trigger %q (use %s)", where, t, strings.Join(triggers, ", "))
		}
	}
	switch {
	case r.Workflow == nil && r.Webhook == nil:
		return fmt.Errorf("%s: no destination: give \"workflow\" or \"webhook\"", where)
	case r.Workflow != nil && r.Webhook != nil:
		return fmt.Errorf("%s: give one destination per route, not both \"workflow\" and \"webhook\"", where)
	case r.Workflow != nil:
		if strings.TrimSpace(r.Workflow.Type) == "" {
			return fmt.Errorf("%s: workflow.type is missing (the workflow type your worker registers, e.g. TriageThreat)", where)
		}
		if strings.TrimSpace(r.Workflow.TaskQueue) == "" {
			return fmt.Errorf("%s: workflow.taskQueue is missing (the task queue your worker polls)", where)
		}
	default:
		w := r.Webhook
		u, err := url.Parse(w.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("%s: webhook.url %q is not an https:// URL", where, w.URL)
		}
		if u.Scheme == "http" && !w.Insecure {
			return fmt.Errorf("%s: webhook.url %q is plain http: use https, or set \"insecure\": true for tests", where, w.URL)
		}
		if u.User != nil {
			return fmt.Errorf("%s: webhook.url must not carry credentials; sign with secretEnv instead", where)
		}
		if reservedEnv(w.SecretEnv) {
			return fmt.Errorf("%s: webhook.secretEnv %q names one of the connector's own secrets: use a dedicated variable", where, w.SecretEnv)
		}
		if !envName.MatchString(w.SecretEnv) {
			return fmt.Errorf("%s: webhook.secretEnv must name the worker environment variable holding the HMAC secret (got %q)", where, w.SecretEnv)
		}
		if w.MaxAttempts < 0 || w.MaxAttempts > 50 {
			return fmt.Errorf("%s: webhook.maxAttempts must be between 1 and 50", where)
		}
		if w.CAFile != "" {
			b, err := os.ReadFile(w.CAFile)
			if err != nil {
				return fmt.Errorf("%s: webhook.caFile: %v", where, err)
			}
			if !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
				return fmt.Errorf("%s: webhook.caFile holds no PEM certificate", where)
			}
			w.CAPEM, w.CAFile = string(b), ""
		}
	}
	return nil
}

// ID names a route: "<stream>/<name>" or "<stream>/<index>".
func ID(stream string, index int, r model.Route) string {
	if r.Name != "" {
		return stream + "/" + r.Name
	}
	return stream + "/" + strconv.Itoa(index)
}

// Matches reports whether route r fires for a change with this trigger and record attributes.
func Matches(r model.Route, trigger string, attrs map[string]string) bool {
	if !contains(r.On, trigger) {
		return false
	}
	if f := r.Filter; f != nil {
		if !anyFold(f.Severity, attrs["severity"]) || !anyFold(f.Confidence, attrs["confidence"]) || !anyFold(f.Status, attrs["status"]) {
			return false
		}
	}
	return true
}

func anyFold(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Signature headers of a webhook delivery.
const (
	HeaderSignature = "X-S1conn-Signature"
	HeaderTimestamp = "X-S1conn-Timestamp"
	HeaderDelivery  = "X-S1conn-Delivery"
)

// Sign returns "sha256=<hex HMAC-SHA256 of timestamp + "." + body>".
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (for receivers and tests).
func Verify(secret []byte, timestamp string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature))
}

// reservedEnv are the connector's own secrets, which must never be used to sign (and so leak
// into) webhook deliveries.
func reservedEnv(name string) bool {
	for _, p := range []string{"CONNECTOR_ENCRYPTION_KEY", "DATABASE_URL", "TEMPORAL_API_KEY", "TEMPORAL_TLS", "CODEC_AUTH_TOKEN"} {
		if strings.HasPrefix(strings.ToUpper(name), p) {
			return true
		}
	}
	return false
}
