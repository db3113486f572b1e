package bench

import (
	"reflect"
	"slices"

	"github.com/otto-automation/otto/internal/apitype"
)

// apiRoutes are the routes of docs/api.md, in its order.
var apiRoutes = apitype.Routes()

// apiFields are the JSON field names of the API's shapes and request
// bodies (internal/apitype), and those of the self-registration body, for
// the fuzzer's bodies.
var apiFields = fieldNames(
	[]string{"key", "port", "properties", "hostname", "kernel_name"},
	apitype.HostRequest{}, apitype.Host{}, apitype.Heartbeat{}, apitype.GroupRequest{}, apitype.GroupHostsRequest{},
	apitype.ScriptRequest{}, apitype.ScriptGroupsRequest{}, apitype.AttachmentRequest{}, apitype.Attachment{},
	apitype.ScheduleRequest{}, apitype.Schedule{}, apitype.RegisterRule{}, apitype.UserRequest{},
	apitype.LoginRequest{}, apitype.ResetPasswordRequest{}, apitype.ActionRequest{}, apitype.RunsRequest{},
	apitype.Run{}, apitype.SearchRequest{}, apitype.Options{},
)

// fieldNames returns extra and the field names of the structs of vals and
// of the structs they hold, each once.
func fieldNames(extra []string, vals ...any) []string {
	names := slices.Clone(extra)
	seen := make(map[reflect.Type]bool)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() != reflect.TypeFor[apitype.Host]().PkgPath() {
			return // time.Time and other types of the standard library have no fields of the API
		}
		seen[t] = true
		for f := range t.Fields() {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
			walk(f.Type)
		}
	}
	for _, v := range vals {
		walk(reflect.TypeOf(v))
	}
	return names
}
