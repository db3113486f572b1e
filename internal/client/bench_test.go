package client

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/wire"
)

// Budgets of issue 10, checked by TestMemoryBudget and reported by the
// benchmarks (docs/benchmarks.md has the measured numbers).
const (
	budgetIdleRSS    = 12 << 20  // bytes: a client that has answered a heartbeat
	budgetHostileRSS = 100 << 20 // bytes: the same after hostileRound
	budgetHeartbeat  = time.Millisecond
	budgetRunTrue    = 10 * time.Millisecond
)

// rss returns the resident set size of process pid in bytes, from
// /proc/PID/status.
func rss(tb testing.TB, pid int) int64 {
	return statusKB(tb, pid, "VmRSS:")
}

// statusKB returns a field of /proc/PID/status given in kB, in bytes.
func statusKB(tb testing.TB, pid int, field string) int64 {
	tb.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("VmRSS line %q: %v", s.Text(), err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// hostileRound sends the client every kind of bad frame a hostile network
// can: frames under another PSK, headers announcing 4 GiB, garbage, and
// frames announcing the largest allowed length of which 16 MiB arrive
// before the peer hangs up (eight of those at once).
func hostileRound(tb testing.TB, addr string) {
	tb.Helper()
	var wrong bytes.Buffer
	if err := wire.WriteMessage(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{}, &wrong, "not-the-psk"); err != nil {
		tb.Fatal(err)
	}
	huge := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 2), 0xFFFFFFFF)
	largest := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 2), wire.MaxFrameLen)
	send := func(data []byte, extra int) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			tb.Error(err)
			return
		}
		defer conn.Close()
		conn.Write(data)
		if extra > 0 {
			conn.Write(make([]byte, extra))
		}
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(waitFor))
		var b [1]byte
		conn.Read(b[:]) // until the client closes
	}
	for range 50 {
		send(wrong.Bytes(), 0)
		send(huge, 0)
		send([]byte("\x00\x00\x00\x02garbage that is not a frame at all"), 0)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(largest, 16<<20)
		}()
	}
	wg.Wait()
}

func TestMemoryBudget(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status, which only Linux has")
	}
	t.Parallel()
	c := startClient(t, "", procOpts{})
	heartbeat(t, c.addr, c.psk)
	// Idle is the settled size: on a loaded machine the memory of start-up
	// (the PSK's scrypt derivation) may take a moment to go back.
	idle := rss(t, c.cmd.Process.Pid)
	for settle := time.Now(); idle > budgetIdleRSS && time.Since(settle) < 3*time.Second; {
		time.Sleep(100 * time.Millisecond)
		idle = min(idle, rss(t, c.cmd.Process.Pid))
	}
	hostileRound(t, c.addr)
	heartbeat(t, c.addr, c.psk)
	// The client hands the memory back to the OS at most once a second,
	// so give it a few.
	ended := time.Now()
	after := rss(t, c.cmd.Process.Pid)
	for after >= budgetHostileRSS && time.Since(ended) < 5*time.Second {
		time.Sleep(100 * time.Millisecond)
		after = rss(t, c.cmd.Process.Pid)
	}
	t.Logf("client RSS: idle %.1f MiB, %.1f MiB %v after hostile frames (peak %.1f MiB)",
		mib(idle), mib(after), time.Since(ended).Round(100*time.Millisecond), mib(peakRSS(t, c.cmd.Process.Pid)))
	// The idle budget is measured by BenchmarkIdleRSS on a quiet machine;
	// under the load of a whole test run the settled size wanders by a few
	// MiB, so this test only guards against gross growth.
	if idle > 2*budgetIdleRSS {
		t.Errorf("idle client RSS = %.1f MiB, over twice the budget of %.0f MiB", mib(idle), mib(budgetIdleRSS))
	}
	if after >= budgetHostileRSS {
		t.Errorf("client RSS after hostile frames = %.1f MiB, budget %.0f MiB", mib(after), mib(budgetHostileRSS))
	}
}

// BenchmarkIdleRSS reports the settled RSS of a client that has answered a
// heartbeat (budget: 12 MiB), as the metric idle-MiB.
func BenchmarkIdleRSS(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/PID/status, which only Linux has")
	}
	var idle int64
	for b.Loop() {
		c := startClient(b, "", procOpts{})
		heartbeat(b, c.addr, c.psk)
		time.Sleep(time.Second)
		idle = rss(b, c.cmd.Process.Pid)
	}
	b.ReportMetric(mib(idle), "idle-MiB")
}

// peakRSS returns the highest RSS process pid had, VmHWM.
func peakRSS(tb testing.TB, pid int) int64 {
	return statusKB(tb, pid, "VmHWM:")
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// BenchmarkHeartbeat is a server's heartbeat on loopback: dial, request,
// response, close. Budget: 1 ms.
func BenchmarkHeartbeat(b *testing.B) {
	c := startClient(b, "", procOpts{})
	key := wire.KeyFor(c.psk)
	for b.Loop() {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			b.Fatal(err)
		}
		if err := key.WriteMessage(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: "bench"}, conn); err != nil {
			b.Fatal(err)
		}
		if typ, _, err := key.ReadMessage(conn); err != nil || typ != wire.MessageTypeHeartbeatResponse {
			b.Fatalf("heartbeat = %d, %v", typ, err)
		}
		conn.Close()
	}
	reportBudget(b, budgetHeartbeat)
}

// BenchmarkRunTrue runs the script "true" with /bin/sh: dial, trigger,
// keepalive, result, close. Budget: 10 ms.
func BenchmarkRunTrue(b *testing.B) {
	c := startClient(b, "", procOpts{})
	key := wire.KeyFor(c.psk)
	trigger := wire.MessageTriggerAction{Action: wire.ActionRunScript, Script: sh("true")}
	for b.Loop() {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			b.Fatal(err)
		}
		if err := key.WriteMessage(wire.MessageTypeTriggerAction, trigger, conn); err != nil {
			b.Fatal(err)
		}
		for {
			typ, msg, err := key.ReadMessage(conn)
			if err != nil {
				b.Fatal(err)
			}
			if typ == wire.MessageTypeActionResult {
				if sr := msg.(wire.MessageActionResult).ScriptResult; !sr.Success {
					b.Fatalf("true = %+v", sr)
				}
				break
			}
		}
		conn.Close()
	}
	reportBudget(b, budgetRunTrue)
}

// BenchmarkClientMemory reports the real client's RSS when idle and after
// rounds of hostile frames (an op is one hostileRound). Budgets: 12 MiB and
// 100 MiB.
func BenchmarkClientMemory(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/PID/status, which only Linux has")
	}
	c := startClient(b, "", procOpts{})
	heartbeat(b, c.addr, c.psk)
	idle := rss(b, c.cmd.Process.Pid)
	for b.Loop() {
		hostileRound(b, c.addr)
	}
	heartbeat(b, c.addr, c.psk)
	time.Sleep(2 * time.Second) // the client hands memory back at most once a second
	b.ReportMetric(mib(idle), "idle-MiB")
	b.ReportMetric(mib(rss(b, c.cmd.Process.Pid)), "hostile-MiB")
	b.ReportMetric(mib(peakRSS(b, c.cmd.Process.Pid)), "peak-MiB")
}

// reportBudget logs when the time per op is over budget. It does not fail:
// a loaded CI machine is not a regression. A handful of ops (CI's
// -benchtime=1x) measures the first dial, not the steady state: no note.
func reportBudget(b *testing.B, budget time.Duration) {
	if b.N < 100 {
		return
	}
	if per := b.Elapsed() / time.Duration(b.N); per > budget {
		b.Logf("%v per op, over the budget of %v", per, budget)
	}
}
