package fleet

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/wire"
	"github.com/otto-automation/otto/internal/wire/wiretest"
)

// newTestPair returns a Dialer and a target that reach a fake client,
// over loopback TCP or over net.Pipe.
func newTestPair(tb testing.TB, realSocket bool, cfg wiretest.Config) (Dialer, Target, *wiretest.Client) {
	tb.Helper()
	if cfg.PSK == "" {
		cfg.PSK = testPSK
	}
	d := Dialer{Timeout: 2 * time.Second}
	if realSocket {
		c := wiretest.Start(tb, cfg)
		addr, port := c.Addr()
		return d, Target{Address: addr, Port: port, PSK: cfg.PSK}, c
	}
	c := wiretest.New(cfg)
	tb.Cleanup(c.Stop)
	d.Dial = c.Dial
	return d, Target{Address: "pipe", Port: 1, PSK: cfg.PSK}, c
}

func bothTransports(t *testing.T, fn func(t *testing.T, realSocket bool)) {
	t.Run("tcp", func(t *testing.T) { fn(t, true) })
	t.Run("pipe", func(t *testing.T) { fn(t, false) })
}

func TestDialer_Heartbeat(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		d, tg, _ := newTestPair(t, real, wiretest.Config{Version: "1.2.3"})
		resp, err := d.Heartbeat(context.Background(), tg, "9.9.9")
		if err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if resp.ClientVersion != "1.2.3" || resp.Properties["hostname"] != "fakehost" {
			t.Errorf("Heartbeat = %+v, want version 1.2.3 and hostname fakehost", resp)
		}
	})
}

func TestDialer_WrongPSK(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		d, tg, _ := newTestPair(t, real, wiretest.Config{})
		tg.PSK = "not-the-psk"
		_, err := d.Heartbeat(context.Background(), tg, "9.9.9")
		if !errors.Is(err, ErrNoAnswer) {
			t.Fatalf("Heartbeat with a wrong PSK = %v, want ErrNoAnswer", err)
		}
		if got, want := Reason(err), "the client closed the connection without answering: wrong PSK?"; got != want {
			t.Errorf("Reason = %q, want %q", got, want)
		}
		if strings.Contains(err.Error(), tg.PSK) {
			t.Errorf("error %q shows the PSK", err)
		}
	})
}

func TestDialer_ConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	d := Dialer{Timeout: time.Second}
	_, err = d.Heartbeat(context.Background(), Target{Address: "127.0.0.1", Port: uint32(port), PSK: testPSK}, "v")
	if !errors.Is(err, ErrConnect) {
		t.Fatalf("Heartbeat to a closed port = %v, want ErrConnect", err)
	}
	if !strings.HasPrefix(Reason(err), "could not connect to the client: ") {
		t.Errorf("Reason = %q", Reason(err))
	}
}

func TestDialer_Timeout(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		d, tg, c := newTestPair(t, real, wiretest.Config{})
		c.SetHang(true)
		d.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := d.Heartbeat(context.Background(), tg, "v")
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Heartbeat to a silent client = %v, want ErrTimeout", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Heartbeat took %v with a 300ms timeout", el)
		}
	})
}

func TestDialer_ContextCanceled(t *testing.T) {
	d, tg, c := newTestPair(t, true, wiretest.Config{})
	c.SetHang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := d.Heartbeat(ctx, tg, "v")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Heartbeat with an ending context = %v, want context.DeadlineExceeded", err)
	}
}

func TestDialer_RunOutputAndKeepalive(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		// Keepalives every 100ms keep a 200ms+100ms read deadline from
		// firing during a 700ms silence.
		d, tg, _ := newTestPair(t, real, wiretest.Config{KeepaliveInterval: 100 * time.Millisecond})
		d.Timeout, d.keepalive = 200*time.Millisecond, 100*time.Millisecond
		var outputs []string
		res, err := d.Run(context.Background(), tg, wire.Script{Data: []byte("out a\nsleep 700ms\nerr b\nout c\nexit 2")},
			func(stdout, stderr []byte) { outputs = append(outputs, string(stdout)+"|"+string(stderr)) })
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if r := res.ScriptResult; r.Code != 2 || r.Success || r.Stdout != "a\nc\n" || r.Stderr != "b\n" {
			t.Errorf("Run result = %+v, want code 2, stdout a c, stderr b", r)
		}
		want := []string{"a\n|", "a\n|b\n", "a\nc\n|b\n"}
		if strings.Join(outputs, ",") != strings.Join(want, ",") {
			t.Errorf("outputs = %q, want %q", outputs, want)
		}
	})
}

func TestDialer_RunCancel(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		d, tg, _ := newTestPair(t, real, wiretest.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		res, err := d.Run(ctx, tg, wire.Script{Data: []byte("out started\nhang\nout never")}, func(stdout, _ []byte) {
			if string(stdout) == "started\n" {
				cancel()
			}
		})
		if err != nil {
			t.Fatalf("Run canceled = %v, want the client's result", err)
		}
		if r := res.ScriptResult; r.Code != 143 || r.Stdout != "started\n" {
			t.Errorf("canceled Run = %+v, want code 143 and the output so far", r)
		}
	})
}

func TestDialer_RunDisconnected(t *testing.T) {
	d, tg, _ := newTestPair(t, true, wiretest.Config{})
	_, err := d.Run(context.Background(), tg, wire.Script{Data: []byte("out a\ndrop")}, nil)
	if !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Run on a client that dies = %v, want ErrDisconnected", err)
	}
}

func TestDialer_Trigger(t *testing.T) {
	bothTransports(t, func(t *testing.T, real bool) {
		d, tg, c := newTestPair(t, real, wiretest.Config{})
		res, err := d.Trigger(context.Background(), tg, wire.MessageTriggerAction{Action: wire.ActionReboot})
		if err != nil || res.ScriptResult.ExecError != "" {
			t.Fatalf("Trigger(reboot) = %+v, %v; want success (no ExecError)", res, err)
		}
		if tr := c.Triggers(); len(tr) != 1 || tr[0].Action != wire.ActionReboot {
			t.Errorf("client got %+v, want one reboot", tr)
		}
	})
}

func TestDialer_IPVersion(t *testing.T) {
	for _, tc := range []struct{ version, network string }{
		{"", "tcp"}, {"auto", "tcp"}, {"ipv4", "tcp4"}, {"ipv6", "tcp6"},
	} {
		if got := (Dialer{IPVersion: tc.version}).network(); got != tc.network {
			t.Errorf("Dialer{IPVersion: %q}.network() = %q, want %q", tc.version, got, tc.network)
		}
	}
	// A v4 client cannot be reached over IPv6 only.
	d, tg, _ := newTestPair(t, true, wiretest.Config{})
	d.IPVersion = "ipv6"
	if _, err := d.Heartbeat(context.Background(), tg, "v"); !errors.Is(err, ErrConnect) {
		t.Errorf("Heartbeat to 127.0.0.1 over tcp6 = %v, want ErrConnect", err)
	}
}

func TestTarget_LogValueHidesPSK(t *testing.T) {
	tg := Target{Address: "127.0.0.1", Port: 12444, PSK: "secret"}
	if got := tg.LogValue().String(); got != "127.0.0.1:12444" {
		t.Errorf("LogValue = %q, want the address only", got)
	}
}

// TestDialer_RunSilentClient: a client that neither answers nor sends
// keepalives is given up on after the timeout plus the keepalive interval.
func TestDialer_RunSilentClient(t *testing.T) {
	d, tg, _ := newTestPair(t, true, wiretest.Config{KeepaliveInterval: time.Hour})
	d.Timeout, d.keepalive = 100*time.Millisecond, 100*time.Millisecond
	start := time.Now()
	_, err := d.Run(context.Background(), tg, wire.Script{Data: []byte("hang")}, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run on a silent client = %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 3*time.Second {
		t.Errorf("gave up after %v, want about 200ms", el)
	}
}

// TestDialer_ProtocolError: a peer that is not an otto client, or answers
// out of turn, is a protocol error.
func TestDialer_ProtocolError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(conn net.Conn)
		want   error
	}{
		{"not otto", func(conn net.Conn) { conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) }, wire.ErrVersion},
		{"wrong message", func(conn net.Conn) {
			wire.WriteMessage(wire.MessageTypeActionResult, wire.MessageActionResult{}, conn, testPSK)
		}, nil},
		{"general failure", func(conn net.Conn) {
			wire.WriteMessage(wire.MessageTypeGeneralFailure, wire.MessageGeneralFailure{}, conn, testPSK)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				wire.ReadMessage(conn, testPSK)
				tc.answer(conn)
			}()
			tg := Target{Address: "127.0.0.1", Port: uint32(ln.Addr().(*net.TCPAddr).Port), PSK: testPSK}
			_, err = Dialer{Timeout: 2 * time.Second}.Heartbeat(context.Background(), tg, "v")
			if !errors.Is(err, ErrProtocol) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Heartbeat = %v, want ErrProtocol (%v)", err, tc.want)
			}
			if !strings.HasPrefix(Reason(err), "protocol error: ") {
				t.Errorf("Reason = %q", Reason(err))
			}
		})
	}
}
