package wire

import (
	"os"
	"testing"
)

func TestModeToWire(t *testing.T) {
	tests := []struct {
		mode os.FileMode
		want uint32
	}{
		{0, 0},
		{0o644, 644},
		{0o755, 755},
		{0o600, 600},
		{0o777, 777},
		{0o007, 7},
		{0o070, 70},
		{os.ModeSetuid | 0o755, 4755},
		{os.ModeSetgid | 0o750, 2750},
		{os.ModeSticky | 0o777, 1777},
		{os.ModeSetuid | os.ModeSetgid | os.ModeSticky | 0o777, 7777},
		{os.ModeDir | 0o755, 755}, // the type bits are not sent
	}
	for _, tt := range tests {
		if got := ModeToWire(tt.mode); got != tt.want {
			t.Errorf("ModeToWire(%v) = %d, want %d", tt.mode, got, tt.want)
		}
	}
}

func TestModeFromWire(t *testing.T) {
	tests := []struct {
		wire    uint32
		want    os.FileMode
		wantErr bool
	}{
		{0, 0, false},
		{644, 0o644, false},
		{755, 0o755, false},
		{7, 0o007, false},
		{70, 0o070, false},
		{777, 0o777, false},
		{4755, os.ModeSetuid | 0o755, false},
		{2750, os.ModeSetgid | 0o750, false},
		{1777, os.ModeSticky | 0o777, false},
		{8, 0, true},
		{649, 0, true},
		{680, 0, true},
		{900, 0, true},
		{420, 0o420, false}, // 0644 sent raw by mistake: its decimal digits are all octal
		{10000, 0, true},
		{0xffffffff, 0, true},
	}
	for _, tt := range tests {
		got, err := ModeFromWire(tt.wire)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ModeFromWire(%d) = %v, %v, want %v (error: %t)", tt.wire, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestModeRoundTrip(t *testing.T) {
	for m := os.FileMode(0); m <= 0o777; m++ {
		for _, special := range []os.FileMode{0, os.ModeSetuid, os.ModeSetgid, os.ModeSticky} {
			if got, err := ModeFromWire(ModeToWire(m | special)); err != nil || got != m|special {
				t.Fatalf("ModeFromWire(ModeToWire(%v)) = %v, %v, want %v, nil", m|special, got, err, m|special)
			}
		}
	}
}
