package ocsf

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidatorClasses(t *testing.T) {
	v := testValidator(t)
	for _, c := range []int{ClassDeviceInventoryInfo, ClassSoftwareInventoryInfo, ClassVulnerabilityFinding, ClassDetectionFinding} {
		err := v.Validate(c, []byte(`{}`))
		var se *SchemaError
		require.True(t, errors.As(err, &se), "class %d: %v", c, err)
		require.Equal(t, c, se.ClassUID)
		require.NotEmpty(t, se.Violations)
	}
	require.ErrorContains(t, v.Validate(4001, []byte(`{}`)), "no schema for class_uid 4001")
	require.ErrorContains(t, v.Validate(5001, []byte(`{`)), "not valid JSON")

	// a minimal 5020 event validates: the software schema is usable for the later transform
	require.NoError(t, v.Validate(ClassSoftwareInventoryInfo, []byte(`{"activity_id":2,"category_uid":5,"class_uid":5020,
		"type_uid":502002,"severity_id":1,"time":1,"metadata":{"version":"1.6.0","product":{"name":"SentinelOne"}},
		"device":{"type_id":0,"uid":"1"}}`)))
}

// TestValidatorListsEveryViolation: several independent errors are all reported with pointers.
func TestValidatorListsEveryViolation(t *testing.T) {
	v := testValidator(t)
	ev := []byte(`{"activity_id":7,"category_uid":5,"class_uid":5001,"type_uid":500102,"severity_id":1,"time":"now",
		"metadata":{"version":"1.6.0","product":{"name":"SentinelOne"}},
		"device":{"type_id":3,"uid":"x","cpu_count":8,"os":{"name":"w"}},"bogus":1}`)
	err := v.Validate(ClassDeviceInventoryInfo, ev)
	var se *SchemaError
	require.True(t, errors.As(err, &se), "%v", err)
	ptrs := map[string]bool{}
	for _, x := range se.Violations {
		ptrs[x.Pointer] = true
	}
	for _, p := range []string{"", "/activity_id", "/time", "/device", "/device/os"} {
		require.True(t, ptrs[p], "missing violation at %q in %v", p, se.Violations)
	}
	msg := err.Error()
	for _, s := range []string{"bogus", "cpu_count", "type_id", "/time", "/activity_id"} {
		require.Contains(t, msg, s)
	}
	require.True(t, strings.HasPrefix(msg, "ocsf: event does not validate against class 5001 schema"))

	// anyOf failures are reported once, naming the alternatives
	err = v.Validate(ClassDeviceInventoryInfo, []byte(`{"activity_id":2,"category_uid":5,"class_uid":5001,"type_uid":500102,
		"severity_id":1,"time":1,"metadata":{"version":"1.6.0","product":{"name":"S"}},"device":{"type_id":0}}`))
	require.ErrorContains(t, err, "/device: 'anyOf' failed")
	require.ErrorContains(t, err, "missing property 'hostname'")
}
