package ctl

import (
	"os"
	"strings"
	"testing"
)

func TestCompletion(t *testing.T) {
	isolate(t)
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := ctlRun(t, "", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "ottoctl") {
			t.Errorf("completion %s = exit %d, %q", shell, r.code, r.stderr)
		}
	}
	if r := ctlRun(t, "", "completion", "fish"); !strings.Contains(r.stdout, "rotate-psk") {
		t.Errorf("the fish completion lacks subcommands")
	}
	// What the bash and zsh scripts ask for. urfave/cli reads the word
	// being completed from os.Args.
	complete := func(args ...string) result {
		saved := os.Args
		defer func() { os.Args = saved }()
		os.Args = append([]string{"ottoctl"}, args...)
		return ctlRun(t, "", args...)
	}
	r := complete("hosts", "--generate-bash-completion")
	for _, want := range []string{"ls\n", "show\n", "rotate-psk\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("hosts --generate-bash-completion = %q, lacks %q", r.stdout, want)
		}
	}
	r = complete("run", "--h", "--generate-bash-completion")
	if !strings.Contains(r.stdout, "--host") {
		t.Errorf("run --h --generate-bash-completion = %q, lacks --host", r.stdout)
	}
}
