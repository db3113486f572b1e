package legacytest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
)

// Lists are the fixture's entity lists: the file of what 0.x answered, the
// route that answers it, and the field a list's elements are matched by
// ("" for an object).
var Lists = []struct{ File, Path, Key string }{
	{"hosts.json", "/api/hosts", "Name"},
	{"groups.json", "/api/groups", "Name"},
	{"scripts.json", "/api/scripts", "Name"},
	{"attachments.json", "/api/attachments", "Name"},
	{"schedules.json", "/api/schedules", "Name"},
	{"rules.json", "/api/register/rules", "Name"},
	{"users.json", "/api/users", "Username"},
	{"options.json", "/api/options", ""},
}

// Compat compares an answer of ours with 0.x's for the same data: every
// field 0.x answered is there with the same name and JSON type, and the
// same value unless the field is in NotData. null in 0.x's answer (an
// empty list) has no type to keep; [] matches it. A secret variable's value
// is "" in ours on purpose (docs/api.md, "Secrets").
type Compat struct {
	T testing.TB
	// IDs maps the fixture's IDs to ours, in the fields that hold IDs;
	// nil means ours are the fixture's (an import keeps them).
	IDs map[string]string
	// NotData are fields whose values are not compared, only their type.
	NotData map[string]bool
}

// idFields hold IDs.
var idFields = map[string]bool{"ID": true, "GroupIDs": true, "ScriptIDs": true, "AttachmentIDs": true, "HostIDs": true,
	"ScriptID": true, "GroupID": true, "DefaultGroupID": true}

// Answer compares got, a decoded answer of ours to GET path, with what 0.x
// answered in file, matching list elements by key (see Lists).
func (c Compat) Answer(file, path, key string, got map[string]any) {
	c.T.Helper()
	want := ReadExpected(c.T, file)
	for _, k := range []string{"code", "error"} {
		c.Value("GET "+path+" "+k, k, want[k], got[k], false)
	}
	if key == "" {
		c.Value("GET "+path+" data", "", want["data"], got["data"], false)
		return
	}
	wl, _ := want["data"].([]any)
	gl, ok := got["data"].([]any)
	if len(wl) == 0 || !ok {
		c.T.Fatalf("%s has no data, or GET %s answered no list: %v", file, path, got["data"])
	}
	for _, w := range wl {
		name := w.(map[string]any)[key]
		i := slices.IndexFunc(gl, func(g any) bool { m, _ := g.(map[string]any); return m[key] == name })
		if i < 0 {
			c.T.Errorf("GET %s has no element with %s %v (0.x: %v)", path, key, name, w)
			continue
		}
		c.Value(fmt.Sprintf("GET %s %s=%v", path, key, name), "", w, gl[i], false)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Value compares want, 0.x's value of field at path, with got; typeOnly
// compares only the JSON types.
func (c Compat) Value(path, field string, want, got any, typeOnly bool) {
	c.T.Helper()
	if want == nil {
		if gt := jsonType(got); gt != "null" && gt != "array" && gt != "object" {
			c.T.Errorf("%s = %s %v, want null (or a list or object)", path, gt, got)
		}
		return
	}
	if wt, gt := jsonType(want), jsonType(got); wt != gt {
		c.T.Errorf("%s is a JSON %s (%v), want a %s like 0.x's %v", path, gt, got, wt, want)
		return
	}
	typeOnly = typeOnly || c.NotData[field]
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if typeOnly {
			return
		}
		secret, _ := w["Secret"].(bool)
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				c.T.Errorf("%s has no field %s (0.x: %v)", path, k, wv)
				continue
			}
			if secret && k == "Value" {
				wv = "" // never sent back, by design
			}
			c.Value(path+"."+k, k, wv, gv, false)
		}
	case []any:
		g := got.([]any)
		if typeOnly {
			return
		}
		if len(g) != len(w) {
			c.T.Errorf("%s has %d elements %v, want %d like 0.x's %v", path, len(g), g, len(w), w)
			return
		}
		for i := range w {
			c.Value(fmt.Sprintf("%s[%d]", path, i), field, w[i], g[i], false)
		}
	case string:
		if typeOnly {
			return
		}
		if idFields[field] && c.IDs != nil {
			mapped, ok := c.IDs[w]
			if !ok {
				c.T.Fatalf("%s: fixture ID %q has no counterpart in the test's data", path, w)
			}
			w = mapped
		}
		if got != w {
			c.T.Errorf("%s = %q, want %q", path, got, w)
		}
	default:
		if !typeOnly && got != want {
			c.T.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

// ReadExpected reads expected/name, a 0.x answer: its envelope and data.
func ReadExpected(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(Expected(name))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return env
}
