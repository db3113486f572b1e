package wire

import (
	"bytes"
	"encoding/gob"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"
)

// samples holds one message or more of every type, with every field set.
var samples = []struct {
	name string
	typ  uint32
	msg  any
}{
	{"keepalive", MessageTypeKeepalive, nil},
	{"heartbeat request", MessageTypeHeartbeatRequest, MessageHeartbeatRequest{ServerVersion: "1.2.3"}},
	{"heartbeat response", MessageTypeHeartbeatResponse, MessageHeartbeatResponse{
		ClientVersion: "1.2.3",
		Properties: map[string]string{
			"hostname": "web1", "kernel_name": "Linux", "kernel_version": "6.1.0",
			"distribution_name": "Debian GNU/Linux", "distribution_version": "12",
		},
	}},
	{"run script", MessageTypeTriggerAction, MessageTriggerAction{
		Action: ActionRunScript,
		Script: Script{
			Name:             "hello",
			RunAs:            RunAs{UID: 1000, GID: 1000},
			Environment:      map[string]string{"A": "1", "B": "two"},
			WorkingDirectory: "/tmp",
			Executable:       "/bin/sh",
			Files:            []File{{Path: "/tmp/x", Owner: RunAs{Inherit: true}, Mode: 644, Data: []byte("x")}},
			Data:             []byte("echo hello\n"),
		},
	}},
	{"upload file", MessageTypeTriggerAction, MessageTriggerAction{
		Action: ActionUploadFileAndExit,
		File:   File{Path: "/usr/local/bin/otto", Owner: RunAs{UID: 0, GID: 0}, Mode: 755, Data: bytes.Repeat([]byte{0, 1, 0xff}, 1000)},
	}},
	{"update psk", MessageTypeTriggerAction, MessageTriggerAction{Action: ActionUpdatePSK, NewPSK: "new"}},
	{"cancel", MessageTypeCancelAction, MessageCancelAction{}},
	{"output", MessageTypeActionOutput, MessageActionOutput{Stdout: []byte("out\n"), Stderr: []byte("err\n")}},
	{"result", MessageTypeActionResult, MessageActionResult{
		ScriptResult:  ScriptResult{Success: true, Code: 0, Stdout: "o", Stderr: "e", Elapsed: 1500 * time.Millisecond},
		File:          File{Path: "/etc/motd", Mode: 644},
		ClientVersion: "1.2.3",
	}},
	{"general failure", MessageTypeGeneralFailure, MessageGeneralFailure{}},
}

// newTestPair returns the two ends of a connection: over net.Pipe, or over
// loopback TCP if realSocket.
func newTestPair(tb testing.TB, realSocket bool) (net.Conn, net.Conn) {
	tb.Helper()
	if !realSocket {
		a, b := net.Pipe()
		tb.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // on error, Dial below fails too
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	b := <-accepted
	tb.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestRoundTrip sends every sample, alternating directions, over each
// transport.
func TestRoundTrip(t *testing.T) {
	for _, transport := range []struct {
		name       string
		realSocket bool
	}{{"pipe", false}, {"tcp", true}} {
		t.Run(transport.name, func(t *testing.T) {
			server, client := newTestPair(t, transport.realSocket)
			for i, s := range samples {
				from, to := server, client
				if i%2 == 1 {
					from, to = client, server
				}
				sent := make(chan error, 1)
				go func() { sent <- WriteMessage(s.typ, s.msg, from, vectorPSK) }()
				typ, msg, err := ReadMessage(to, vectorPSK)
				if err := <-sent; err != nil {
					t.Fatalf("WriteMessage(%s) error: %v", s.name, err)
				}
				if err != nil {
					t.Fatalf("ReadMessage(%s) error: %v", s.name, err)
				}
				if typ != s.typ || !reflect.DeepEqual(msg, s.msg) {
					t.Errorf("ReadMessage(%s) = %d %#v, want %d %#v", s.name, typ, msg, s.typ, s.msg)
				}
			}
		})
	}
}

// oneWriteConn fails if it is written to more than once.
type oneWriteConn struct {
	bytes.Buffer
	writes int
}

func (c *oneWriteConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestWriteMessageOneWrite(t *testing.T) {
	for _, s := range samples {
		var c oneWriteConn
		if err := WriteMessage(s.typ, s.msg, &c, vectorPSK); err != nil {
			t.Fatalf("WriteMessage(%s) error: %v", s.name, err)
		}
		if c.writes != 1 {
			t.Errorf("WriteMessage(%s) made %d writes, want 1", s.name, c.writes)
		}
	}
}

func TestEncodeMessagePointer(t *testing.T) {
	for _, s := range samples[1:] { // all but Keepalive
		ptr := reflect.New(reflect.TypeOf(s.msg))
		ptr.Elem().Set(reflect.ValueOf(s.msg))
		body, err := EncodeMessage(s.typ, ptr.Interface())
		if err != nil {
			t.Fatalf("EncodeMessage(%s, %T) error: %v", s.name, ptr.Interface(), err)
		}
		got, err := DecodeMessage(s.typ, body)
		if err != nil || !reflect.DeepEqual(got, s.msg) {
			t.Errorf("DecodeMessage(EncodeMessage(%s, pointer)) = %#v, %v, want %#v, nil", s.name, got, err, s.msg)
		}
	}
}

func TestEncodeMessageErrors(t *testing.T) {
	tests := []struct {
		name    string
		typ     uint32
		msg     any
		unknown bool // want ErrUnknownType
	}{
		{"keepalive with a body", MessageTypeKeepalive, MessageCancelAction{}, false},
		{"wrong struct", MessageTypeHeartbeatRequest, MessageHeartbeatResponse{}, false},
		{"nil pointer", MessageTypeHeartbeatRequest, (*MessageHeartbeatRequest)(nil), false},
		{"nil", MessageTypeActionResult, nil, false},
		{"type 0", 0, nil, true},
		{"type 9", 9, MessageCancelAction{}, true},
	}
	for _, tt := range tests {
		body, err := EncodeMessage(tt.typ, tt.msg)
		if err == nil || errors.Is(err, ErrUnknownType) != tt.unknown {
			t.Errorf("EncodeMessage(%s) = %x, %v, want error (ErrUnknownType: %t)", tt.name, body, err, tt.unknown)
		}
		var buf bytes.Buffer
		if err := WriteMessage(tt.typ, tt.msg, &buf, vectorPSK); err == nil || buf.Len() != 0 {
			t.Errorf("WriteMessage(%s) wrote %d bytes, error %v, want nothing written and an error", tt.name, buf.Len(), err)
		}
	}
}

// TestErrorFieldsSentNil checks that error fields go out as nil, since
// deployed peers cannot decode any error value, with the text of an
// ActionResult's Error moved to ExecError.
func TestErrorFieldsSentNil(t *testing.T) {
	boom := errors.New("disk full")
	tests := []struct {
		name string
		typ  uint32
		in   any
		want any
	}{
		{"result error folded", MessageTypeActionResult,
			MessageActionResult{ScriptResult: ScriptResult{Success: true}, Error: boom, ClientVersion: "v"},
			MessageActionResult{ScriptResult: ScriptResult{ExecError: "disk full"}, ClientVersion: "v"}},
		{"result exec error kept", MessageTypeActionResult,
			&MessageActionResult{ScriptResult: ScriptResult{ExecError: "no such user"}, Error: boom},
			MessageActionResult{ScriptResult: ScriptResult{ExecError: "no such user"}}},
		{"general failure", MessageTypeGeneralFailure, MessageGeneralFailure{Error: boom}, MessageGeneralFailure{}},
	}
	for _, tt := range tests {
		body, err := EncodeMessage(tt.typ, tt.in)
		if err != nil {
			t.Fatalf("EncodeMessage(%s) error: %v", tt.name, err)
		}
		if got, err := DecodeMessage(tt.typ, body); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeMessage(EncodeMessage(%s)) = %#v, %v, want %#v, nil", tt.name, got, err, tt.want)
		}
	}
}

// testError is an error type gob can carry once registered.
type testError struct{ Msg string }

func (e testError) Error() string { return e.Msg }

// TestDecodeNonNilError checks that a received error value is kept if gob
// can decode it, as a peer that registered its error type would send.
func TestDecodeNonNilError(t *testing.T) {
	gob.Register(testError{})
	var body bytes.Buffer
	sent := MessageActionResult{Error: testError{"boom"}, ClientVersion: "v"}
	if err := gob.NewEncoder(&body).Encode(sent); err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeMessage(MessageTypeActionResult, body.Bytes()); err != nil || !reflect.DeepEqual(got, sent) {
		t.Errorf("DecodeMessage(ActionResult with error) = %#v, %v, want %#v, nil", got, err, sent)
	}
}

func TestScriptResultString(t *testing.T) {
	tests := []struct {
		in   ScriptResult
		want string
	}{
		{ScriptResult{Success: true, Elapsed: 1500 * time.Millisecond}, "succeeded after 1.5s (exit code 0)"},
		{ScriptResult{Code: 3, Stdout: "not shown", Elapsed: time.Second}, "failed after 1s (exit code 3)"},
		{ScriptResult{ExecError: "no such user", Code: -1}, "failed after 0s: no such user"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}
