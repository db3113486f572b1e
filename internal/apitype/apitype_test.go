package apitype

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestIDUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ID
		ok   bool
	}{
		{`"VVVanl4_U0as"`, "VVVanl4_U0as", true}, // a 0.x nanoid
		{`"17"`, "17", true},
		{`17`, "17", true}, // this release's first clients sent numbers
		{`0`, "", true},
		{`null`, "", true},
		{`""`, "", true},
		{`-1`, "", false},
		{`1.5`, "", false},
		{`true`, "", false},
		{`{}`, "", false},
		{`99999999999999999999999`, "", false},
	} {
		var got struct{ ID ID }
		err := json.Unmarshal([]byte(`{"ID":`+tc.in+`}`), &got)
		if (err == nil) != tc.ok || got.ID != tc.want {
			t.Errorf("ID from %s = %q, %v; want %q, ok %v", tc.in, got.ID, err, tc.want, tc.ok)
		}
	}
	// A bad ID is a type error naming its field, as encoding/json's own.
	var h HostRequest
	err := json.Unmarshal([]byte(`{"GroupIDs":["1",true]}`), &h)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "GroupIDs" || te.Value != "true" {
		t.Errorf("GroupIDs [\"1\",true] error = %#v, want an UnmarshalTypeError of field GroupIDs", err)
	}
	b, _ := json.Marshal(Host{ID: "7", GroupIDs: []ID{"a", "8"}})
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["ID"] != "7" || m["GroupIDs"].([]any)[1] != "8" {
		t.Errorf("IDs are sent as %v, %v; want strings", m["ID"], m["GroupIDs"])
	}
}
