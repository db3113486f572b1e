package api

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
	"github.com/otto-automation/otto/internal/serve/domain"
	"github.com/otto-automation/otto/internal/serve/fleet"
	"github.com/otto-automation/otto/internal/wire"
)

// full returns a T whose every field, at every depth, is set: strings "7",
// numbers 7, bools true, lists and maps of one such element.
func full[T any]() T {
	var v T
	fill(reflect.ValueOf(&v).Elem())
	return v
}

var timeType = reflect.TypeFor[time.Time]()

func fill(v reflect.Value) {
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Date(2026, 11, 25, 11, 41, 48, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("7")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	}
}

// blanks lists the fields of v left at their zero value (or empty).
func blanks(path string, v reflect.Value) []string {
	if v.Type() == timeType {
		if v.Interface().(time.Time).IsZero() {
			return []string{path}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		var out []string
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				out = append(out, blanks(path+"."+f.Name, v.Field(i))...)
			}
		}
		return out
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return []string{path}
		}
		return blanks(path, v.Elem())
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice {
			var out []string
			for i := 0; i < v.Len(); i++ {
				out = append(out, blanks(fmt.Sprintf("%s[%d]", path, i), v.Index(i))...)
			}
			return out
		}
		return nil
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// TestConvertEveryField converts values whose every field is set, each
// way, and checks that the result has every field set but those left out
// on purpose: a field added to one side and forgotten here fails.
func TestConvertEveryField(t *testing.T) {
	must := func(v any, err error) any {
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		name string
		out  any
		// left are the fields blank on purpose.
		left []string
	}{
		{"hostOut admin", hostOut(full[domain.Host](), true), []string{".Environment[0].Value"}},
		{"hostOut", hostOut(full[domain.Host](), false), []string{".PSK", ".Environment[0].Value"}},
		{"statusOut", statusOut(full[domain.HostStatus]()), nil},
		{"hostScriptOut", hostScriptOut(full[domain.HostScript]()), nil},
		{"groupOut", groupOut(full[domain.Group]()), []string{".Environment[0].Value"}},
		{"scriptOut", scriptOut(full[domain.Script]()), []string{".Environment[0].Value"}},
		{"attachmentOut", attachmentOut(full[domain.Attachment]()), nil},
		{"scheduleOut", scheduleOut(full[domain.Schedule]()), nil},
		{"ruleOut", ruleOut(full[domain.RegisterRule]()), nil},
		{"userOut", userOut(full[domain.User]()), nil},
		{"eventOut", eventOut(full[domain.Event]()), nil},
		{"runOut", runOut(full[domain.Run]()), nil},
		{"searchOut", searchOut(full[[]domain.SearchResult]()), nil},
		{"sweepOut", sweepOut(full[fleet.SweepResult]()), nil},
		{"runScriptResultOut", runScriptResultOut(full[fleet.RunScriptResult]()), nil},
		{"scriptResultOut", scriptResultOut(full[wire.ScriptResult]()), nil},
		{"optionsOut admin", optionsOut(full[domain.Options](), true), []string{".General.GlobalEnvironment[0].Value"}},
		{"optionsOut", optionsOut(full[domain.Options](), false), []string{".General.GlobalEnvironment[0].Value", ".Register.Key"}},

		{"hostIn", hostIn(full[apitype.HostRequest]()), []string{".ID", ".PendingPSK", ".PendingSince", ".LastPSKRotate", ".RotateOnContact", ".Created"}},
		{"hostEditIn", hostEditIn(full[apitype.HostRequest]()), nil},
		{"groupIn", groupIn(full[apitype.GroupRequest]()), []string{".ID"}},
		{"scriptIn", scriptIn(full[apitype.ScriptRequest]()), []string{".ID"}},
		{"attachmentEditIn", must(attachmentEditIn(full[apitype.AttachmentRequest]())), []string{".MimeType", ".Data"}},
		{"scheduleIn", scheduleIn(full[apitype.ScheduleRequest]()), []string{".ID", ".LastRun"}},
		{"scheduleEditIn", scheduleEditIn(full[apitype.ScheduleRequest]()), nil},
		{"ruleIn", ruleIn(full[apitype.RegisterRule]()), []string{".ID"}},
		{"optionsIn", optionsIn(full[apitype.Options]()), nil},
	} {
		got := blanks("", reflect.ValueOf(tt.out))
		if !slices.Equal(got, tt.left) {
			t.Errorf("%s leaves %v blank, want %v", tt.name, got, tt.left)
		}
	}
}

func TestConvertRoundTrip(t *testing.T) {
	o := full[domain.Options]()
	o.General.GlobalEnvironment[0].Secret = false
	if got := optionsIn(optionsOut(o, true)); !reflect.DeepEqual(got, o) {
		t.Errorf("optionsIn(optionsOut(o)) = %+v, want %+v", got, o)
	}
	for _, m := range []uint32{0, 0o644, 0o755, 0o4755, 0o7777} {
		if got, err := modeIn(modeOut(m)); err != nil || got != m {
			t.Errorf("modeIn(modeOut(%o)) = %o, %v", m, got, err)
		}
	}
	if got := modeOut(0o644); got != 644 {
		t.Errorf("modeOut(0o644) = %d, want 644", got)
	}
	for _, n := range []uint32{8, 648, 9999, 17777} {
		if _, err := modeIn(n); err == nil {
			t.Errorf("modeIn(%d) succeeded, want an error", n)
		}
	}
}
