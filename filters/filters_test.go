package filters

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTorqExamples(t *testing.T) {
	got, err := Parse([]byte(`{
		"alerts": {"severity": "High,Critical", "incidentStatus": "IN_PROGRESS,UNRESOLVED", "analystVerdict": "TRUE_POSITIVE,FALSE_POSITIVE",
		           "ruleName__contains": "STAR-rule,lateral-movement", "createdAt__lte": "2024-01-16T00:00:00.000000Z",
		           "reportedAt__gte": "2024-01-15T00:00:00.000000Z", "osType": "windows,macos,linux"},
		"threats": {"confidenceLevels": ["malicious", "suspicious"], "analystVerdicts": "true_positive", "incidentStatuses": "unresolved,in_progress",
		            "mitigationStatuses": "not_mitigated", "createdAt__lte": "2024-01-16T00:00:00.000000Z", "computerName__contains": "DESKTOP-,john-laptop",
		            "osTypes": "windows,macos,linux", "resolved": false}}`))
	require.NoError(t, err)
	require.Equal(t, "malicious,suspicious", got["threats"]["confidenceLevels"], "arrays are joined")
	require.Equal(t, "false", got["threats"]["resolved"], "booleans become their text")
	require.Equal(t, "High,Critical", got["alerts"]["severity"])
}

func TestParseRejects(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"empty":            {``, "empty"},
		"not object":       {`[1]`, "not a JSON object"},
		"unknown stream":   {`{"endpoints": {}}`, "unknown stream"},
		"stream not obj":   {`{"threats": "x"}`, "must be an object"},
		"array of objects": {`{"threats": {"osTypes": [{"a": 1}]}}`, "arrays may hold only"},
		"object value":     {`{"threats": {"osTypes": {"a": 1}}}`, "is an object"},
		"null value":       {`{"threats": {"osTypes": null}}`, "is null"},
		"empty string":     {`{"threats": {"osTypes": " "}}`, "empty value"},
		"controlled":       {`{"threats": {"cursor": "abc"}}`, "set by the connector"},
		"sort":             {`{"threats": {"sortBy": "createdAt"}}`, "set by the connector"},
		"delta":            {`{"threats": {"updatedAt__gt": "2024-01-01T00:00:00Z"}}`, "delta watermark"},
		"backfill bound":   {`{"threats": {"createdAt__gte": "2024-01-01T00:00:00Z"}}`, "delta watermark"},
		"alerts delta":     {`{"alerts": {"createdAt__gte": "2024-01-01T00:00:00Z"}}`, "delta watermark"},
		"unknown key":      {`{"threats": {"confidenceLevel": "malicious"}}`, `did you mean "confidenceLevels"`},
		"alert plural":     {`{"alerts": {"incidentStatuses": "UNRESOLVED"}}`, `did you mean "incidentStatus"`},
		"bad timestamp":    {`{"threats": {"createdAt__lte": "yesterday"}}`, "not an ISO-8601 timestamp"},
		"scope key":        {`{"agents": {"siteIds": "1"}}`, "--site-ids"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.False(t, strings.Contains(err.Error(), "\n"), "one line")
		})
	}
}
