package exec

import (
	"strings"
	"testing"
)

func TestOutput(t *testing.T) {
	const marker = "\n[otto: output truncated after 5 bytes]\n"
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"under", []string{"ab", "c"}, "abc"},
		{"exactly the limit", []string{"abc", "de"}, "abcde"},
		{"exactly then more", []string{"abcde", "f"}, "abcde" + marker},
		{"crossing", []string{"abc", "defg"}, "abcde" + marker},
		{"one big write", []string{"abcdefghij"}, "abcde" + marker},
		{"more after full", []string{"abcdefg", "h", "ijk"}, "abcde" + marker},
	}
	for _, tt := range tests {
		o := &output{limit: 5}
		w := streamWriter{o, 1}
		for _, s := range tt.writes {
			if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
				t.Errorf("%s: Write(%q) = %d, %v; want %d, nil", tt.name, s, n, err, len(s))
			}
		}
		so, se, _ := o.snapshot()
		if string(se) != tt.want || len(so) != 0 {
			t.Errorf("%s: stderr %q, stdout %q; want %q, empty", tt.name, se, so, tt.want)
		}
	}
}

func TestOutputSnapshotStable(t *testing.T) {
	o := &output{limit: 1 << 20}
	w := streamWriter{o, 0}
	w.Write([]byte("first"))
	so, _, v1 := o.snapshot()
	_ = append(so, "XXXX"...) // must not reach the shared buffer
	w.Write([]byte(strings.Repeat("y", 1000)))
	so2, _, v2 := o.snapshot()
	if string(so) != "first" || !strings.HasPrefix(string(so2), "first") || v2 == v1 {
		t.Errorf("snapshots %q then %q (versions %d, %d): want the first unchanged, the second extending it", so, so2[:10], v1, v2)
	}
	w.Write(nil)
	if _, _, v3 := o.snapshot(); v3 != v2 {
		t.Errorf("empty write bumped the version from %d to %d", v2, v3)
	}
}
