package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

type typedMessage struct {
	typ uint32
	msg any
}

// TestUpstreamFrames pins frames captured from a deployed 0.x client
// (testdata/upstream/README.md): they must keep decoding to the same values.
func TestUpstreamFrames(t *testing.T) {
	result := MessageActionResult{ClientVersion: "dev"} // a zero ScriptResult: success of a non-script action
	tests := []struct {
		file string
		want []typedMessage
	}{
		{"heartbeat_response.hex", []typedMessage{
			{MessageTypeHeartbeatResponse, MessageHeartbeatResponse{
				ClientVersion: "dev",
				Properties: map[string]string{
					"hostname":             "vm",
					"kernel_name":          "Linux",
					"kernel_version":       "6.18.44-fc-v669",
					"distribution_name":    "Debian GNU/Linux",
					"distribution_version": "12 (bookworm)",
				},
			}},
		}},
		{"run_script.hex", []typedMessage{
			{MessageTypeKeepalive, nil},
			{MessageTypeActionOutput, MessageActionOutput{Stdout: []byte("out\n")}},
			{MessageTypeActionResult, MessageActionResult{
				ScriptResult: ScriptResult{
					Code:    3,
					Stdout:  "out\n",
					Stderr:  "err\n",
					Elapsed: 302116948 * time.Nanosecond, // "about 0.30 s", pinned exactly
				},
				ClientVersion: "dev",
			}},
		}},
		{"upload_file.hex", []typedMessage{{MessageTypeActionResult, result}}},
		{"update_psk.hex", []typedMessage{{MessageTypeActionResult, result}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			stream := bytes.NewReader(bytes.Join(loadUpstream(t, tt.file), nil))
			for i, want := range tt.want {
				typ, msg, err := ReadMessage(stream, upstreamPSK)
				if err != nil {
					t.Fatalf("ReadMessage(frame %d) error: %v", i, err)
				}
				if got := (typedMessage{typ, msg}); !sameMessage(got.msg, want.msg) || got.typ != want.typ {
					t.Errorf("ReadMessage(frame %d) = %d %#v, want %d %#v", i, got.typ, got.msg, want.typ, want.msg)
				}
			}
			if _, _, err := ReadMessage(stream, upstreamPSK); !errors.Is(err, io.EOF) {
				t.Errorf("ReadMessage(after last frame) error = %v, want io.EOF", err)
			}
		})
	}
}

// TestUpstreamUpdatePSKSealedWithOldPSK checks that the answer to UpdatePSK
// does not open with the new PSK: a client answers with the old one.
func TestUpstreamUpdatePSKSealedWithOldPSK(t *testing.T) {
	frame := loadUpstream(t, "update_psk.hex")[0]
	if _, _, err := NewKey("upstream-new-psk").ReadMessage(bytes.NewReader(frame)); !errors.Is(err, ErrAuth) {
		t.Errorf("ReadMessage(update_psk.hex, new psk) error = %v, want ErrAuth", err)
	}
}
