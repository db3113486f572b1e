package ctl

import (
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/apitype"
)

// The golden files under testdata/ hold the tables people read; refresh
// them with "go test -run Golden -update" and read the diff.

var (
	t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	gu = &globals{loc: time.UTC}
)

func TestOneLine(t *testing.T) {
	if got := oneLine("a\tb\nc\x1bd"); got != `a b c\x1bd` {
		t.Errorf("oneLine = %q", got)
	}
}

func TestFormatters(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{fmtSize(0), "0 B"}, {fmtSize(1023), "1023 B"}, {fmtSize(1536), "1.5 KiB"}, {fmtSize(5 << 30), "5.0 GiB"},
		{fmtDuration(0), "-"}, {fmtDuration(1234567 * time.Microsecond), "1.235s"}, {fmtDuration(125 * time.Second), "2m5s"},
		{fmtMode(644), "0644"}, {fmtMode(4755), "4755"}, {fmtMode(0), "0000"}, {fmtTime(time.Time{}, time.UTC), "-"},
		{fmtNames([]apitype.ID{"1", "2"}, map[apitype.ID]string{"1": "a"}), "a,#2"},
		{fmtEnv([]apitype.Variable{{Key: "A", Value: "x y"}, {Key: "B", Secret: true}}), `A="x y" B=(secret)`},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
