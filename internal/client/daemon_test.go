package client

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otto-automation/otto/internal/sysinfo"
	"github.com/otto-automation/otto/internal/testbin"
	"github.com/otto-automation/otto/internal/version"
	"github.com/otto-automation/otto/internal/wire"
)

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	got := heartbeat(t, c.addr, c.psk)
	want, err := sysinfo.Properties()
	if err != nil {
		t.Logf("sysinfo.Properties: %v", err)
	}
	if got.ClientVersion != version.Version || !maps.Equal(got.Properties, want) {
		t.Errorf("heartbeat = %+v, want version %q and properties %v", got, version.Version, want)
	}
	if len(got.Properties) != 5 {
		t.Errorf("heartbeat has %d properties, want the 5 of the protocol: %v", len(got.Properties), got.Properties)
	}
}

func TestRunScript(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	tests := []struct {
		name                   string
		script                 string
		success                bool
		code                   int
		stdout, stderr, execEr string
	}{
		{"success", "echo hello", true, 0, "hello\n", "", ""},
		{"exit code", "echo out; echo err >&2; exit 3", false, 3, "out\n", "err\n", ""},
		{"killed by a signal", "kill -9 $$", false, 128 + 9, "", "", ""},
		{"empty", "", true, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runScript(t, c.addr, c.psk, sh(tt.script))
			sr := r.result.ScriptResult
			if sr.Success != tt.success || sr.Code != tt.code || sr.Stdout != tt.stdout || sr.Stderr != tt.stderr || sr.ExecError != tt.execEr {
				t.Errorf("run %q = %+v, want success %v, code %d, stdout %q, stderr %q", tt.script, sr, tt.success, tt.code, tt.stdout, tt.stderr)
			}
			if r.result.Error != nil || r.result.ClientVersion != version.Version {
				t.Errorf("result Error = %v, ClientVersion = %q; want nil and %q", r.result.Error, r.result.ClientVersion, version.Version)
			}
			if len(r.frames) == 0 || r.frames[0].typ != wire.MessageTypeKeepalive {
				t.Errorf("first frame of a run is not a Keepalive: %+v", r.frames)
			}
			if sr.Elapsed <= 0 {
				t.Errorf("Elapsed = %v, want > 0", sr.Elapsed)
			}
		})
	}

	t.Run("executable missing", func(t *testing.T) {
		s := sh("true")
		s.Executable = "/nonexistent/interpreter"
		sr := runScript(t, c.addr, c.psk, s).result.ScriptResult
		if sr.Success || sr.ExecError == "" || !strings.Contains(sr.ExecError, "/nonexistent/interpreter") {
			t.Errorf("run with a missing executable = %+v, want an ExecError naming it", sr)
		}
	})

	t.Run("script file removed", func(t *testing.T) {
		sr := runScript(t, c.addr, c.psk, sh(`echo "$0"`)).result.ScriptResult
		path := strings.TrimSpace(sr.Stdout)
		if path == "" {
			t.Fatalf("the script did not print its path: %+v", sr)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("script file %s after the run: %v, want it removed", path, err)
		}
	})
}

func TestRunEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/environ, which only Linux has")
	}
	t.Parallel()
	c := startClient(t, `path = "/usr/bin:/bin:/otto-test"`, procOpts{})
	// /proc/$$/environ is what the shell was started with, before it adds
	// variables of its own (dash adds PWD).
	const dump = `tr '\0' '\n' < /proc/$$/environ`
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{nil, []string{"PATH=/usr/bin:/bin:/otto-test"}},
		{map[string]string{"A": "1", "B": "with spaces and = sign", "EMPTY": ""},
			[]string{"A=1", "B=with spaces and = sign", "EMPTY=", "PATH=/usr/bin:/bin:/otto-test"}},
		{map[string]string{"PATH": "/bin", "X": "y"}, []string{"PATH=/bin", "X=y"}},
	}
	for _, tt := range tests {
		s := sh(dump)
		s.Environment = tt.env
		sr := runScript(t, c.addr, c.psk, s).result.ScriptResult
		got := strings.Split(strings.TrimSpace(sr.Stdout), "\n")
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("environment for %v = %q, want exactly %q (%+v)", tt.env, got, tt.want, sr)
		}
	}
}

func TestRunWorkingDirectoryAndFiles(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	dir := t.TempDir()

	s := sh("pwd")
	s.WorkingDirectory = dir
	if sr := runScript(t, c.addr, c.psk, s).result.ScriptResult; strings.TrimSpace(sr.Stdout) != dir {
		t.Errorf("pwd with WorkingDirectory %s = %+v", dir, sr)
	}
	if sr := runScript(t, c.addr, c.psk, sh("pwd")).result.ScriptResult; strings.TrimSpace(sr.Stdout) != "/" {
		t.Errorf("pwd without a WorkingDirectory = %q, want /", sr.Stdout)
	}

	// Files are placed before the script runs, parents created, with the
	// mode the server sent in its decimal-digit form.
	placed := filepath.Join(dir, "new", "sub", "data.txt")
	exe := filepath.Join(dir, "bin", "tool")
	s = sh(fmt.Sprintf("cat %s; %s", placed, exe))
	s.Files = []wire.File{
		{Path: placed, Mode: 640, Data: []byte("placed data\n"), Owner: wire.RunAs{Inherit: true}},
		{Path: exe, Mode: 755, Data: []byte("#!/bin/sh\necho tool ran\n"), Owner: wire.RunAs{Inherit: true}},
	}
	sr := runScript(t, c.addr, c.psk, s).result.ScriptResult
	if !sr.Success || sr.Stdout != "placed data\ntool ran\n" {
		t.Errorf("script using placed files = %+v", sr)
	}
	for path, mode := range map[string]os.FileMode{placed: 0o640, exe: 0o755} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("placed %s: %v, %v; want mode %v", path, fi.Mode(), err, mode)
		}
	}

	// A file that cannot be placed stops the run with an ExecError.
	s = sh("echo must not run")
	s.Files = []wire.File{{Path: dir, Mode: 644, Owner: wire.RunAs{Inherit: true}}}
	if sr := runScript(t, c.addr, c.psk, s).result.ScriptResult; sr.Success || sr.ExecError == "" || sr.Stdout != "" {
		t.Errorf("run whose file is a directory = %+v, want an ExecError and no run", sr)
	}
	s.Files = []wire.File{{Path: filepath.Join(dir, "bad-mode"), Mode: 999, Owner: wire.RunAs{Inherit: true}}}
	if sr := runScript(t, c.addr, c.psk, s).result.ScriptResult; sr.Success || !strings.Contains(sr.ExecError, "999") {
		t.Errorf("run whose file mode is 999 = %+v, want an ExecError naming the mode", sr)
	}
}

func TestUploadFile(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "uploaded")
	r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFile,
		File: wire.File{Path: path, Mode: 600, Data: []byte("payload"), Owner: wire.RunAs{Inherit: true}}})
	if !done(r) || r.Error != nil {
		t.Errorf("upload = %+v, want success (a zero ScriptResult, as 0.x)", r)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "payload" {
		t.Errorf("uploaded file = %q, %v", data, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("uploaded file mode = %v, %v; want 0600", fi.Mode(), err)
	}

	// A path that cannot be written is answered with an ExecError (the 0.x
	// client sent nothing at all), and the client goes on serving.
	r = trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFile,
		File: wire.File{Path: dir, Mode: 644, Owner: wire.RunAs{Inherit: true}}})
	if r.ScriptResult.Success || r.ScriptResult.ExecError == "" {
		t.Errorf("upload over a directory = %+v, want an ExecError", r)
	}
	r = trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: 99})
	if r.ScriptResult.Success || !strings.Contains(r.ScriptResult.ExecError, "unknown action 99") {
		t.Errorf("action 99 = %+v, want an ExecError", r)
	}
	heartbeat(t, c.addr, c.psk)
}

func TestLiveOutput(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	r := runScript(t, c.addr, c.psk, sh("for i in 1 2 3 4 5; do echo line $i; echo err $i >&2; sleep 0.2; done"))
	want := "line 1\nline 2\nline 3\nline 4\nline 5\n"
	if r.result.ScriptResult.Stdout != want {
		t.Fatalf("stdout = %q, want %q", r.result.ScriptResult.Stdout, want)
	}
	if len(r.outputs) < 3 {
		t.Errorf("%d ActionOutput frames for output over a second, want one per line or so", len(r.outputs))
	}
	// Each snapshot holds the whole output so far: a prefix of the next.
	var prev wire.MessageActionOutput
	for i, o := range r.outputs {
		if !bytes.HasPrefix(o.Stdout, prev.Stdout) || !bytes.HasPrefix(o.Stderr, prev.Stderr) {
			t.Errorf("output %d = %q/%q does not extend the previous %q/%q", i, o.Stdout, o.Stderr, prev.Stdout, prev.Stderr)
		}
		if bytes.Equal(o.Stdout, prev.Stdout) && bytes.Equal(o.Stderr, prev.Stderr) {
			t.Errorf("output %d did not grow: %q", i, o.Stdout)
		}
		if !strings.HasPrefix(want, string(o.Stdout)) {
			t.Errorf("output %d = %q, not a prefix of the whole output", i, o.Stdout)
		}
		prev = o
	}
	if last := r.frames[len(r.frames)-1]; last.typ != wire.MessageTypeActionResult {
		t.Errorf("last frame is type %d, want the ActionResult", last.typ)
	}
	// At most one snapshot per 50 ms.
	var outs []time.Time
	for _, f := range r.frames {
		if f.typ == wire.MessageTypeActionOutput {
			outs = append(outs, f.at)
		}
	}
	if n := len(outs); n > 1 && outs[n-1].Sub(outs[0]) < time.Duration(n-1)*40*time.Millisecond {
		t.Errorf("%d outputs within %v: more often than every 50 ms", n, outs[n-1].Sub(outs[0]))
	}
}

func TestCancelKillsGrandchildren(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	// The grandchild ignores nothing but lives on its own unless the whole
	// group is signaled; the script waits for it.
	s := sh(fmt.Sprintf("sh -c 'sleep 300' & echo $! > %s; echo started; wait", pidFile))
	conv := startRun(t, c.addr, c.psk, s)
	canceled := false
	r := conv.collect(func(f frame) {
		if o, ok := f.msg.(wire.MessageActionOutput); ok && !canceled && bytes.Contains(o.Stdout, []byte("started")) {
			conv.send(wire.MessageTypeCancelAction, wire.MessageCancelAction{})
			canceled = true
		}
	})
	if !canceled {
		t.Fatalf("the script never printed \"started\": %+v", r.result)
	}
	sr := r.result.ScriptResult
	if sr.Success || sr.Code != 128+int(syscall.SIGTERM) {
		t.Errorf("canceled run = %+v, want code %d (SIGTERM)", sr, 128+int(syscall.SIGTERM))
	}
	if sr.Elapsed > 4*time.Second {
		t.Errorf("canceled run took %v; SIGTERM should end it at once", sr.Elapsed)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, fmt.Sprintf("grandchild %d gone", pid), func() bool { return processGone(pid) })
	heartbeat(t, c.addr, c.psk)
}

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for a parent that does not reap.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux" // gone between the two calls
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

// TestQuietScriptKeepalive runs a script that prints nothing for 11 s: the
// client must keep the server's read deadline (wire.KeepaliveInterval) from
// firing. collect fails the test if no frame comes within that interval.
func TestQuietScriptKeepalive(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	r := runScript(t, c.addr, c.psk, sh("sleep 11; echo done"))
	if !r.result.ScriptResult.Success || r.result.ScriptResult.Stdout != "done\n" {
		t.Errorf("quiet script = %+v", r.result.ScriptResult)
	}
	if r.keepalives < 2 {
		t.Errorf("%d keepalives in 11 s, want one at once and more while quiet", r.keepalives)
	}
	prev := r.start
	for _, f := range r.frames {
		if gap := f.at.Sub(prev); gap > wire.KeepaliveInterval {
			t.Errorf("%v without a frame, want at most %v", gap, wire.KeepaliveInterval)
		}
		prev = f.at
	}
}

func TestConcurrentScripts(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	const n = 20
	start := time.Now()
	var wg sync.WaitGroup
	results := make([]wire.ScriptResult, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runScript(t, c.addr, c.psk, sh(fmt.Sprintf("sleep 1; echo %d", i))).result.ScriptResult
		}()
	}
	wg.Wait()
	for i, sr := range results {
		if !sr.Success || sr.Stdout != fmt.Sprintf("%d\n", i) {
			t.Errorf("script %d = %+v", i, sr)
		}
	}
	// One after the other they would take 20 s.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("%d one-second scripts took %v: they did not run at once", n, d)
	}
}

func TestHostileFrames(t *testing.T) {
	t.Parallel()
	c := startClient(t, "", procOpts{})
	valid := func(psk string) []byte {
		var b bytes.Buffer
		if err := wire.WriteMessage(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{ServerVersion: "x"}, &b, psk); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	header := func(version, n uint32) []byte {
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, version), n)
	}
	good := valid(c.psk)
	tampered := bytes.Clone(good)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name  string
		bytes []byte
		close bool // close our side after sending, as opposed to waiting for the client to
	}{
		{"wrong psk", valid("not-the-psk"), false},
		{"4 GiB header", header(2, 0xFFFFFFFF), false},
		{"4 GiB header and some body", append(header(2, 0xFFFFFFFF), make([]byte, 1<<16)...), false},
		{"version 1", append(header(1, uint32(len(good)-8)), good[8:]...), false},
		{"short frame", header(2, 4), false},
		{"tampered", tampered, false},
		{"truncated", good[:len(good)-10], true},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), true},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write(tt.bytes)
			if tt.close {
				conn.(*net.TCPConn).CloseWrite()
			}
			conn.SetReadDeadline(time.Now().Add(waitFor))
			var b [1]byte
			if n, err := conn.Read(b[:]); n != 0 || !isClosed(err) {
				t.Errorf("after %s the client sent %d bytes (%v); want the connection closed without an answer", tt.name, n, err)
			}
			heartbeat(t, c.addr, c.psk)
		})
	}
	if c.exited() {
		t.Fatalf("the client exited:\n%s", c.stderr.String())
	}
	log := c.stderr.String()
	if n := strings.Count(log, "bad request frame"); n < 6 {
		t.Errorf("the log has %d lines about bad frames, want one per bad frame:\n%s", n, log)
	}
	if !strings.Contains(log, "remote=127.0.0.1:") {
		t.Errorf("the log does not name the remote address:\n%s", log)
	}
}

func TestAllowFrom(t *testing.T) {
	t.Parallel()
	c := startClient(t, `allow_from = ["10.0.0.0/8", "192.168.0.0/16"]`, procOpts{})
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(waitFor))
	var b [1]byte
	if n, err := conn.Read(b[:]); n != 0 || !isClosed(err) {
		t.Errorf("a connection from 127.0.0.1 got %d bytes, %v; want it closed at once", n, err)
	}
	if c.stderr.Await(regexp.MustCompile(`refused a connection from outside allow_from" remote=127\.0\.0\.1:`), waitFor, nil) == nil {
		t.Errorf("the refusal is not logged:\n%s", c.stderr.String())
	}

	ok := startClient(t, `allow_from = ["10.0.0.0/8", "127.0.0.1"]`, procOpts{})
	heartbeat(t, ok.addr, ok.psk)
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Logf("no IPv6 loopback (%v): not checking IPv4 peers on an IPv6 socket", err)
		return
	} else {
		ln.Close()
	}
	six := startClient(t, `allow_from = ["::1/128", "127.0.0.0/8"]`, procOpts{listen: "[::]:0"})
	_, port, _ := net.SplitHostPort(six.addr)
	heartbeat(t, net.JoinHostPort("127.0.0.1", port), six.psk) // IPv4-mapped on an IPv6 socket
}

func TestExitActions(t *testing.T) {
	t.Parallel()
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		c := startClient(t, "", procOpts{})
		if r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionExit}); !done(r) {
			t.Errorf("exit = %+v", r)
		}
		if code := c.wait(); code != 0 {
			t.Errorf("exit status after Exit = %d, want 0", code)
		}
	})
	t.Run("upload file and exit", func(t *testing.T) {
		t.Parallel()
		c := startClient(t, "", procOpts{})
		path := filepath.Join(t.TempDir(), "otto.new")
		r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFileAndExit,
			File: wire.File{Path: path, Mode: 755, Data: []byte("new binary"), Owner: wire.RunAs{Inherit: true}}})
		if !done(r) {
			t.Errorf("upload file and exit = %+v", r)
		}
		if code := c.wait(); code != ExitRestart {
			t.Errorf("exit status after UploadFileAndExit = %d, want %d", code, ExitRestart)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("uploaded binary: %v, %v", fi, err)
		}
	})
	t.Run("upload failure does not exit", func(t *testing.T) {
		t.Parallel()
		c := startClient(t, "", procOpts{})
		r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFileAndExit,
			File: wire.File{Path: "relative/path", Mode: 755, Owner: wire.RunAs{Inherit: true}}})
		if r.ScriptResult.Success || r.ScriptResult.ExecError == "" {
			t.Errorf("upload to a relative path = %+v, want an ExecError", r)
		}
		heartbeat(t, c.addr, c.psk)
	})
}

func TestRebootShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Harmless stand-ins that record their arguments; the real commands
	// must never run in a test.
	fake := filepath.Join(dir, "fake-shutdown")
	writeFile(t, fake, "#!/bin/sh\necho \"$@\" >> "+filepath.Join(dir, "calls")+"\n")
	os.Chmod(fake, 0o755)
	c := startClient(t, fmt.Sprintf("reboot_command = [%q, \"reboot\"]\nshutdown_command = [%q, \"poweroff\"]", fake, fake), procOpts{})
	for i, action := range []uint32{wire.ActionReboot, wire.ActionShutdown} {
		if r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: action}); !done(r) {
			t.Errorf("action %d = %+v", action, r)
		}
		want := []string{"reboot", "reboot\npoweroff"}[i] + "\n"
		eventually(t, "the fake command ran", func() bool {
			data, _ := os.ReadFile(filepath.Join(dir, "calls"))
			return string(data) == want
		})
	}
	heartbeat(t, c.addr, c.psk)
}

func TestPowerCommandDefaults(t *testing.T) {
	reboot := powerCommand(wire.ActionReboot, Config{})
	off := powerCommand(wire.ActionShutdown, Config{})
	if !slices.Equal(reboot, []string{"shutdown", "-r", "now"}) {
		t.Errorf("reboot command = %q", reboot)
	}
	wantOff := []string{"shutdown", "-p", "now"}
	if runtime.GOOS == "linux" {
		wantOff = []string{"shutdown", "-h", "now"}
	}
	if !slices.Equal(off, wantOff) {
		t.Errorf("shutdown command = %q, want %q", off, wantOff)
	}
	if p, err := findProgram("sh"); err != nil || !filepath.IsAbs(p) {
		t.Errorf("findProgram(sh) = %q, %v", p, err)
	}
}

func TestUpdatePSK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "client.toml")
	// A hand-written config keeps its comments through a PSK update.
	writeFile(t, config, fmt.Sprintf("# my comment\nlisten_addr = \"127.0.0.1:0\" # loopback\npsk = %q\nallow_from = [\"127.0.0.0/8\"]\n", testPSK))
	c := &client{proc: startProc(t, procOpts{dir: dir}, "client", "--config", config), psk: testPSK}
	c.addr = c.waitListening()

	const newPSK = "otto-client-test-new-psk"
	if r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: ""}); r.ScriptResult.Success || r.ScriptResult.ExecError == "" {
		t.Errorf("update to an empty PSK = %+v, want it refused", r)
	}
	// trigger reads the answer with the old PSK: it must be sealed with it.
	if r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: newPSK}); !done(r) {
		t.Fatalf("update psk = %+v", r)
	}
	checkPSKs := func() {
		t.Helper()
		heartbeat(t, c.addr, newPSK)
		old := dial(t, c.addr, testPSK)
		old.send(wire.MessageTypeHeartbeatRequest, wire.MessageHeartbeatRequest{})
		old.expectClosed()
	}
	checkPSKs()

	fi, err := os.Stat(config)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config after the update: %v, %v; want mode 0600", fi, err)
	}
	data, _ := os.ReadFile(config)
	if !strings.Contains(string(data), "# my comment") || !strings.Contains(string(data), "# loopback") || !strings.Contains(string(data), newPSK) {
		t.Errorf("config after the update lost its comments or lacks the new PSK:\n%s", data)
	}
	if strings.Contains(c.stderr.String(), newPSK) {
		t.Errorf("the log shows the new PSK:\n%s", c.stderr.String())
	}

	c.restart(procOpts{})
	checkPSKs()
}

func TestReloadConfig(t *testing.T) {
	t.Parallel()
	c := startClient(t, `path = "/bin:/usr/bin"`, procOpts{})
	if sr := runScript(t, c.addr, c.psk, sh(`echo "$PATH"`)).result.ScriptResult; sr.Stdout != "/bin:/usr/bin\n" {
		t.Fatalf("PATH before the reload = %q", sr.Stdout)
	}
	data, _ := os.ReadFile(c.config)
	writeFile(t, c.config, strings.Replace(string(data), `"/bin:/usr/bin"`, `"/usr/bin:/bin:/reloaded"`, 1))
	if r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionReloadConfig}); !done(r) {
		t.Fatalf("reload = %+v", r)
	}
	if sr := runScript(t, c.addr, c.psk, sh(`echo "$PATH"`)).result.ScriptResult; sr.Stdout != "/usr/bin:/bin:/reloaded\n" {
		t.Errorf("PATH after the reload = %q", sr.Stdout)
	}

	// A broken config is reported and the old one kept.
	writeFile(t, c.config, string(data)+"bogus = 1\n")
	r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionReloadConfig})
	if r.ScriptResult.Success || !strings.Contains(r.ScriptResult.ExecError, `unknown key "bogus"`) {
		t.Errorf("reload of a broken config = %+v, want an ExecError naming the key", r)
	}
	heartbeat(t, c.addr, c.psk)

	// SIGHUP reloads too.
	writeFile(t, c.config, strings.Replace(string(data), `"/bin:/usr/bin"`, `"/bin:/hup"`, 1))
	c.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "PATH changed by SIGHUP", func() bool {
		return runScript(t, c.addr, c.psk, sh(`echo "$PATH"`)).result.ScriptResult.Stdout == "/bin:/hup\n"
	})
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, toml string
		want       []string // substrings of the message
	}{
		{"empty psk", `psk = ""`, []string{"client.toml", `psk is empty; run "otto client setup"`}},
		{"unknown key", "psk = \"x\"\nlisten = \"1\"", []string{"client.toml", `unknown key "listen"`, "remove it"}},
		{"bad cidr", "psk = \"x\"\nallow_from = [\"10.0.0.0/40\"]", []string{"allow_from \"10.0.0.0/40\"", "CIDR"}},
		{"bad listen", "psk = \"x\"\nlisten_addr = \"nowhere\"", []string{"listen_addr \"nowhere\"", "host:port"}},
		{"syntax", "psk = \"x", []string{"client.toml", "line 1"}},
	}
	for _, tt := range tests {
		config := filepath.Join(dir, tt.name, "client.toml")
		writeFile(t, config, tt.toml)
		p := startProc(t, procOpts{}, "client", "--config", config)
		code := p.wait()
		msg := p.stderr.String()
		if code != 1 {
			t.Errorf("%s: exit status %d, want 1", tt.name, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %q lacks %q", tt.name, msg, w)
			}
		}
	}

	// No config at all: the message says how to make one.
	p := startProc(t, procOpts{env: []string{envConfig + "=" + filepath.Join(dir, "missing.toml")}}, "client")
	if code := p.wait(); code != 1 || !strings.Contains(p.stderr.String(), "otto client setup") || !strings.Contains(p.stderr.String(), "missing.toml") {
		t.Errorf("client without a config = %d, %q", code, p.stderr.String())
	}
}

func TestLegacyConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	os.Mkdir(logDir, 0o755)
	writeFile(t, filepath.Join(dir, legacyConfigName), fmt.Sprintf(`{
	"listen_addr": "127.0.0.1:0",
	"psk": %q,
	"log_path": "logs",
	"default_uid": %d,
	"default_gid": %d,
	"path": "/usr/bin:/bin:/legacy",
	"allow_from": "127.0.0.0/8"
}`, testPSK, os.Getuid(), os.Getgid()))
	os.Chmod(filepath.Join(dir, legacyConfigName), 0o644) // as 0.x wrote it

	// The TOML config named by the environment does not exist, so the
	// client falls back to the working directory.
	env := []string{envConfig + "=" + filepath.Join(dir, "etc", "client.toml")}
	p := startProc(t, procOpts{dir: dir, env: env}, "client")
	logFile := filepath.Join(logDir, legacyLogName)
	eventually(t, "the client logs to the 0.x log directory", func() bool {
		data, _ := os.ReadFile(logFile)
		return testbin.ClientListening.Match(data)
	})
	data, _ := os.ReadFile(logFile)
	addr := testbin.ClientListening.FindStringSubmatch(string(data))[1]
	heartbeat(t, addr, testPSK)
	sr := runScript(t, addr, testPSK, sh(`echo "$PATH"; id -u`)).result.ScriptResult
	if sr.Stdout != fmt.Sprintf("/usr/bin:/bin:/legacy\n%d\n", os.Getuid()) {
		t.Errorf("script under the 0.x config = %+v", sr)
	}

	migrated := filepath.Join(dir, migratedName)
	cfg, err := LoadConfig(migrated)
	if err != nil {
		t.Fatalf("the TOML written beside the 0.x config: %v", err)
	}
	if string(cfg.PSK) != testPSK || !slices.Equal(cfg.AllowFrom, []string{"127.0.0.0/8"}) || cfg.LogPath != logFile ||
		cfg.DefaultUID == nil || int(*cfg.DefaultUID) != os.Getuid() || cfg.Path != "/usr/bin:/bin:/legacy" {
		t.Errorf("migrated config = %+v", cfg)
	}
	if fi, err := os.Stat(migrated); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("migrated config: %v, %v; want mode 0600", fi, err)
	}
	if !strings.Contains(string(data), "upgraded the 0.x config") {
		t.Errorf("the log does not mention the upgrade:\n%s", data)
	}

	// A PSK update goes to the TOML file; the next start reads it there.
	const newPSK = "otto-client-legacy-new-psk"
	if r := trigger(t, addr, testPSK, wire.MessageTriggerAction{Action: wire.ActionUpdatePSK, NewPSK: newPSK}); !done(r) {
		t.Fatalf("update psk = %+v", r)
	}
	p.stop()
	os.Remove(logFile)
	startProc(t, procOpts{dir: dir, env: env}, "client")
	eventually(t, "the client restarts", func() bool {
		data, _ := os.ReadFile(logFile)
		return testbin.ClientListening.Match(data)
	})
	data, _ = os.ReadFile(logFile)
	heartbeat(t, testbin.ClientListening.FindStringSubmatch(string(data))[1], newPSK)
}

func TestInfo(t *testing.T) {
	t.Parallel()
	p := startProc(t, procOpts{}, "client", "info")
	if code := p.wait(); code != 0 {
		t.Fatalf("otto client info = %d: %s", code, p.stderr.String())
	}
	out := p.stdout.String()
	props, _ := sysinfo.Properties()
	want := fmt.Sprintf("version: %s\nprotocol: 2\n", version.Version)
	for _, k := range []string{"hostname", "kernel_name", "kernel_version", "distribution_name", "distribution_version"} {
		want += k + ": " + props[k] + "\n"
	}
	if out != want {
		t.Errorf("otto client info =\n%s\nwant\n%s", out, want)
	}
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running scripts as another user needs root; this test runs as uid", os.Geteuid())
	}
	t.Parallel()
	const nobody = 65534
	t.Run("root client", func(t *testing.T) {
		c := startClient(t, "", procOpts{})
		s := sh("id -u; id -g; id -G")
		s.RunAs = wire.RunAs{UID: nobody, GID: nobody}
		sr := runScript(t, c.addr, c.psk, s).result.ScriptResult
		want := fmt.Sprintf("%d\n%d\n%d\n", nobody, nobody, nobody) // no supplementary groups
		if !sr.Success || sr.Stdout != want {
			t.Errorf("script as %d:%d = %+v, want stdout %q", nobody, nobody, sr, want)
		}
		// A file given to that user.
		path := filepath.Join(t.TempDir(), "owned")
		r := trigger(t, c.addr, c.psk, wire.MessageTriggerAction{Action: wire.ActionUploadFile,
			File: wire.File{Path: path, Mode: 640, Owner: wire.RunAs{UID: nobody, GID: nobody}}})
		if !done(r) {
			t.Fatalf("upload owned by nobody = %+v", r)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != nobody || st.Gid != nobody {
			t.Errorf("uploaded file owned by %d:%d, want %d:%d", st.Uid, st.Gid, nobody, nobody)
		}
	})
	t.Run("default uid", func(t *testing.T) {
		c := startClient(t, fmt.Sprintf("default_uid = %d\ndefault_gid = %d", nobody, nobody), procOpts{})
		sr := runScript(t, c.addr, c.psk, sh("id -u")).result.ScriptResult
		if sr.Stdout != fmt.Sprintf("%d\n", nobody) {
			t.Errorf("inherit with default_uid %d = %+v", nobody, sr)
		}
	})
	t.Run("client not root", func(t *testing.T) {
		// The client itself runs as nobody, from a directory nobody can read.
		dir, err := os.MkdirTemp("", "otto-client-nobody-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755)
		bin := filepath.Join(dir, "otto")
		data, err := os.ReadFile(ottoBinary(t))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, bin, string(data))
		os.Chmod(bin, 0o755)
		config := filepath.Join(dir, "client.toml")
		writeFile(t, config, fmt.Sprintf("listen_addr = \"127.0.0.1:0\"\npsk = %q\n", testPSK))
		os.Chown(config, nobody, nobody)
		p := startProcBin(t, bin, procOpts{dir: dir, cred: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}, "client", "--config", config)
		addr := p.waitListening()

		s := sh("id -u > /tmp/otto-must-not-exist; echo ran")
		s.RunAs = wire.RunAs{UID: 0, GID: 0}
		sr := runScript(t, addr, testPSK, s).result.ScriptResult
		if sr.Success || sr.Stdout != "" || !strings.Contains(sr.ExecError, "root") {
			t.Errorf("non-root client asked to run as root = %+v, want an ExecError saying it needs root", sr)
		}
		sr = runScript(t, addr, testPSK, sh("id -u")).result.ScriptResult
		if sr.Stdout != fmt.Sprintf("%d\n", nobody) {
			t.Errorf("non-root client running as itself = %+v", sr)
		}
	})
}

// done reports whether r says a non-script action was done: a zero
// ScriptResult, as a 0.x client answers (Success stays false).
func done(r wire.MessageActionResult) bool {
	return r.ScriptResult == (wire.ScriptResult{})
}
