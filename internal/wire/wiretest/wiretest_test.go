package wiretest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/otto-automation/otto/internal/wire"
)

const psk = "wiretest-psk"

// exchange sends one request to c and returns every frame it answers
// with, until it closes the connection.
func exchange(t *testing.T, c *Client, key string, typ uint32, msg any) (types []uint32, msgs []any) {
	t.Helper()
	addr, port := c.Addr()
	conn, err := net.Dial("tcp", net.JoinHostPort(addr, strconv.FormatUint(uint64(port), 10)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := wire.WriteMessage(typ, msg, conn, key); err != nil {
		t.Fatal(err)
	}
	for {
		typ, m, err := wire.ReadMessage(conn, key)
		if errors.Is(err, io.EOF) {
			return types, msgs
		}
		if err != nil {
			t.Fatalf("ReadMessage: %v", err)
		}
		types, msgs = append(types, typ), append(msgs, m)
		if typ == wire.MessageTypeActionResult || typ == wire.MessageTypeHeartbeatResponse {
			return types, msgs
		}
	}
}

func TestClient_Heartbeat(t *testing.T) {
	c := Start(t, Config{PSK: psk, Version: "7"})
	types, msgs := exchange(t, c, psk, wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: "x"})
	if len(types) != 1 || msgs[0].(wire.MessageHeartbeatResponse).ClientVersion != "7" || c.Heartbeats() != 1 {
		t.Errorf("heartbeat answered %v %v", types, msgs)
	}
}

func TestClient_WrongPSKClosesSilently(t *testing.T) {
	c := Start(t, Config{PSK: psk})
	types, _ := exchange(t, c, "wrong", wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{})
	if len(types) != 0 || c.Heartbeats() != 0 {
		t.Errorf("a request with the wrong PSK got %v", types)
	}
}

func TestClient_RunScript(t *testing.T) {
	c := Start(t, Config{PSK: psk})
	script := wire.Script{Data: []byte("out a\nerr b\nenv K\nexit 3"), Environment: map[string]string{"K": "v"}}
	types, msgs := exchange(t, c, psk, wire.MessageTypeTriggerAction, wire.MessageTriggerAction{Action: wire.ActionRunScript, Script: script})
	if len(types) != 4 || types[3] != wire.MessageTypeActionResult {
		t.Fatalf("run answered %v", types)
	}
	r := msgs[3].(wire.MessageActionResult).ScriptResult
	if r.Code != 3 || r.Success || r.Stdout != "a\nK=v\n" || r.Stderr != "b\n" {
		t.Errorf("result = %+v", r)
	}
}

func TestClient_UpdatePSK(t *testing.T) {
	for _, tc := range []struct {
		mode    UpdatePSKMode
		answers int
		newPSK  bool
	}{
		{AcceptPSK, 1, true},
		{DropAck, 0, true},
		{DropBeforeStore, 0, false},
		{RefusePSK, 1, false},
	} {
		c := Start(t, Config{PSK: psk})
		c.SetUpdatePSK(tc.mode)
		types, _ := exchange(t, c, psk, wire.MessageTypeTriggerAction, wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: "next"})
		if len(types) != tc.answers || (c.PSK() == "next") != tc.newPSK {
			t.Errorf("mode %d: %d answers, PSK now %q", tc.mode, len(types), c.PSK())
		}
	}
}

func TestClient_Dial(t *testing.T) {
	c := New(Config{PSK: psk})
	defer c.Stop()
	conn, err := c.Dial(context.Background(), "tcp", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := wire.WriteMessage(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{}, conn, psk); err != nil {
		t.Fatal(err)
	}
	if typ, _, err := wire.ReadMessage(conn, psk); err != nil || typ != wire.MessageTypeHeartbeatResponse {
		t.Errorf("over a pipe: %d, %v", typ, err)
	}
}

// upstreamResult decodes the ActionResult that a deployed 0.x client sent
// in ../testdata/upstream/name (sealed with "upstream-test-psk").
func upstreamResult(t *testing.T, name string) wire.MessageActionResult {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "upstream", name))
	if err != nil {
		t.Fatal(err)
	}
	frame, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	typ, m, err := wire.ReadMessage(bytes.NewReader(frame), "upstream-test-psk")
	if err != nil || typ != wire.MessageTypeActionResult {
		t.Fatalf("%s: type %d, err %v", name, typ, err)
	}
	return m.(wire.MessageActionResult)
}

// TestClient_AnswersAs0x pins the fake's answers to non-script actions to
// what a deployed 0.x client answered: a zero ScriptResult, Success false.
func TestClient_AnswersAs0x(t *testing.T) {
	for _, tc := range []struct {
		capture string
		msg     wire.MessageTriggerAction
	}{
		{"update_psk.hex", wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: "new-psk"}},
		{"upload_file.hex", wire.MessageTriggerAction{Action: wire.ActionUploadFile}},
		{"upload_file.hex", wire.MessageTriggerAction{Action: wire.ActionExit}},
	} {
		want := upstreamResult(t, tc.capture)
		if !reflect.DeepEqual(want.ScriptResult, wire.ScriptResult{}) || want.Error != nil {
			t.Fatalf("%s: the capture is not a zero result: %+v", tc.capture, want)
		}
		c := Start(t, Config{PSK: psk, Version: want.ClientVersion})
		types, msgs := exchange(t, c, psk, wire.MessageTypeTriggerAction, tc.msg)
		if len(types) != 1 || types[0] != wire.MessageTypeActionResult {
			t.Fatalf("action %d answered %v", tc.msg.Action, types)
		}
		if got := msgs[0].(wire.MessageActionResult); !reflect.DeepEqual(got, want) {
			t.Errorf("action %d answered %+v, a 0.x client %+v", tc.msg.Action, got, want)
		}
	}
}
