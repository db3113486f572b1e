package bench

import (
	"slices"
	"testing"
)

// TestAPIFields: the fuzzer's field names reach into nested shapes, come
// once each, and hold nothing of the standard library's types.
func TestAPIFields(t *testing.T) {
	for _, want := range []string{"key", "GroupIDs", "Environment", "Secret", "Clauses", "Property", "Scope", "HostIDs",
		"Owner", "UID", "HeartbeatFrequency", "RotatePSK", "FrequencyDays", "OutputMaxBytes", "OldPassword", "Hosts"} {
		if !slices.Contains(apiFields, want) {
			t.Errorf("apiFields lacks %q: %q", want, apiFields)
		}
	}
	for i, f := range apiFields {
		if slices.Contains(apiFields[:i], f) {
			t.Errorf("apiFields holds %q twice", f)
		}
	}
	for _, not := range []string{"wall", "ext", "loc"} { // time.Time's
		if slices.Contains(apiFields, not) {
			t.Errorf("apiFields holds %q, a field of the standard library", not)
		}
	}
}
