package ctl

import (
	"reflect"
	"testing"

	"github.com/otto-automation/otto/internal/apitype"
)

func TestEnvChangeApply(t *testing.T) {
	old := []apitype.Variable{{Key: "A", Value: "1"}, {Key: "S", Secret: true}, {Key: "B", Value: "2"}}
	e := envChange{set: []apitype.Variable{{Key: "B", Value: "two"}, {Key: "C", Value: "3", Secret: true}}, unset: []string{"A"}}
	got := e.apply(old)
	want := []apitype.Variable{{Key: "S", Secret: true}, {Key: "B", Value: "two"}, {Key: "C", Value: "3", Secret: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("apply = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(old[0], apitype.Variable{Key: "A", Value: "1"}) {
		t.Errorf("apply changed its input")
	}
	if got := (envChange{}).apply(nil); got == nil || len(got) != 0 {
		t.Errorf("apply of nothing = %#v, want an empty list (JSON [])", got)
	}
}

func TestEditIDs(t *testing.T) {
	if got := editIDs([]apitype.ID{"1", "2", "3"}, []apitype.ID{"4", "2"}, []apitype.ID{"1"}); !reflect.DeepEqual(got, []apitype.ID{"2", "3", "4"}) {
		t.Errorf("editIDs = %v", got)
	}
}

func TestShebang(t *testing.T) {
	for _, tc := range []struct{ body, want, err string }{
		{"echo hi", "", ""},
		{"#!/bin/bash\necho", "/bin/bash", ""},
		{"#! /usr/bin/python3\n", "/usr/bin/python3", ""},
		{"#!/usr/bin/env python3\n", "", "pass --executable"},
	} {
		got, err := shebang(tc.body)
		if got != tc.want || (tc.err == "") != (err == nil) {
			t.Errorf("shebang(%q) = %q, %v; want %q, error %q", tc.body, got, err, tc.want, tc.err)
		}
	}
}
