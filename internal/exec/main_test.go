package exec

import (
	"flag"
	"fmt"
	"os"
	osexec "os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the scripts: a Job with Executable set to the
// test binary and OTTO_EXEC_HELPER=name in its Env runs helper name, which
// gets the script's path and text (Run starts "Executable <tempfile>").

const helperEnv = "OTTO_EXEC_HELPER"

type helperFunc func(scriptPath, script string) int

var helpers = map[string]helperFunc{
	"exit": func(_, script string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(script))
		return n
	},
	"echo": func(_, script string) int {
		fmt.Print(script)
		return 0
	},
	"streams": func(_, _ string) int {
		fmt.Fprint(os.Stdout, "out1\n")
		fmt.Fprint(os.Stderr, "err1\n")
		fmt.Fprint(os.Stdout, "out2\n")
		fmt.Fprint(os.Stderr, "err2\n")
		return 0
	},
	"env": func(_, _ string) int {
		env := os.Environ()
		sort.Strings(env)
		for _, kv := range env {
			fmt.Println(kv)
		}
		return 0
	},
	"pwd": func(_, _ string) int {
		wd, err := os.Getwd()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(wd)
		return 0
	},
	// scriptfile reports the script file it was given: its mode and text.
	"scriptfile": func(path, script string) int {
		fi, err := os.Stat(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("mode=%o text=%s", fi.Mode().Perm(), script)
		return 0
	},
	// lines prints "N DELAY" lines slowly: line 0 .. line N-1.
	"lines": func(_, script string) int {
		var n int
		var ds string
		fmt.Sscan(script, &n, &ds)
		d, _ := time.ParseDuration(ds)
		for i := range n {
			fmt.Printf("line %d\n", i)
			time.Sleep(d)
		}
		return 0
	},
	// flood writes N bytes of 'x' to stdout, then "done" to stderr.
	"flood": func(_, script string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(script))
		chunk := []byte(strings.Repeat("x", 4096))
		for n > 0 {
			c := chunk[:min(n, len(chunk))]
			os.Stdout.Write(c)
			n -= len(c)
		}
		fmt.Fprint(os.Stderr, "done\n")
		return 0
	},
	"sleep": func(_, _ string) int {
		time.Sleep(time.Hour)
		return 0
	},
	// spawn starts a grandchild that shares its stdout (so it holds the
	// pipe), writes the grandchild's pid to the file named on the script's
	// first line and sleeps. With "ignore" on the second line, both ignore
	// SIGTERM. The grandchild prints "grandchild ready" once set up.
	"spawn": func(_, script string) int {
		lines := strings.Split(script, "\n")
		ignore := len(lines) > 1 && lines[1] == "ignore"
		if ignore {
			signal.Ignore(syscall.SIGTERM)
		}
		self, _ := os.Executable()
		gc := osexec.Command(self)
		gc.Env = []string{helperEnv + "=grandchild", "GRANDCHILD_IGNORE=" + strconv.FormatBool(ignore)}
		gc.Stdout = os.Stdout
		gc.Stderr = os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(lines[0], []byte(strconv.Itoa(gc.Process.Pid)), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		time.Sleep(time.Hour)
		return 0
	},
	"grandchild": func(_, _ string) int {
		if os.Getenv("GRANDCHILD_IGNORE") == "true" {
			signal.Ignore(syscall.SIGTERM)
		}
		fmt.Println("grandchild ready")
		time.Sleep(time.Hour)
		return 0
	},
}

var (
	usedMu sync.Mutex
	used   = map[string]bool{}
)

// helperJob returns a Job that runs helper name with script as its text.
func helperJob(t *testing.T, name, script string) Job {
	t.Helper()
	if helpers[name] == nil {
		t.Fatalf("no helper %q", name)
	}
	usedMu.Lock()
	used[name] = true
	usedMu.Unlock()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Job{
		Executable: exe,
		Script:     []byte(script),
		Env:        map[string]string{helperEnv: name},
		Cred:       Credential{Inherit: true},
		TempDir:    t.TempDir(),
	}
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		h := helpers[name]
		if h == nil {
			fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
			os.Exit(99)
		}
		var path, script string
		if len(os.Args) > 1 {
			path = os.Args[1]
			b, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(98)
			}
			script = string(b)
		}
		// syscall.Exit, not os.Exit: under the race detector os.Exit(0)
		// sleeps a second (GORACE atexit_sleep_ms) in every helper.
		syscall.Exit(h(path, script))
	}

	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		var unused []string
		for name := range helpers {
			if !used[name] && name != "grandchild" { // started by spawn
				unused = append(unused, name)
			}
		}
		if len(unused) > 0 {
			slices.Sort(unused)
			fmt.Fprintf(os.Stderr, "helpers never used by a test: %v\n", unused)
			code = 1
		}
	}
	os.Exit(code)
}
