package ctl

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/otto-automation/otto/internal/apitype"
)

// envFlags are the flags that set environment variables of hosts, groups
// and scripts; edits can also remove them.
func envFlags(edit bool) []cli.Flag {
	f := []cli.Flag{
		repeatedFlag("env", "set the variable `KEY=VALUE` (repeat for more)"),
		repeatedFlag("secret", "set the secret variable `KEY=VALUE`: its value is never shown again"),
	}
	if edit {
		f = append(f, namesFlag("unset", "remove the variable `KEY` (repeat, or separate with commas)"))
	}
	return f
}

// envChange is what the env flags ask for.
type envChange struct {
	set   []apitype.Variable
	unset []string
}

func (e envChange) empty() bool { return len(e.set) == 0 && len(e.unset) == 0 }

func envChangeFrom(c *cli.Context) (envChange, error) {
	var e envChange
	for _, f := range []struct {
		flag   string
		secret bool
	}{{"env", false}, {"secret", true}} {
		for _, kv := range list(c, f.flag) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return e, usagef("--%s %q: write KEY=VALUE", f.flag, kv)
			}
			e.set = append(e.set, apitype.Variable{Key: k, Value: v, Secret: f.secret})
		}
	}
	if hasFlag(c.Command.Flags, "unset") {
		e.unset = list(c, "unset")
	}
	return e, nil
}

// apply changes env: a key that is set replaces the variable of that key
// in place (or is added at the end); unset keys are dropped. A secret
// variable left alone keeps its empty value, which the server reads as
// "unchanged".
func (e envChange) apply(env []apitype.Variable) []apitype.Variable {
	out := make([]apitype.Variable, 0, len(env)+len(e.set))
	drop := map[string]bool{}
	for _, k := range e.unset {
		drop[k] = true
	}
	for _, v := range env {
		if !drop[v.Key] {
			out = append(out, v)
		}
	}
	for _, nv := range e.set {
		replaced := false
		for i := range out {
			if out[i].Key == nv.Key {
				out[i] = nv
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, nv)
		}
	}
	return out
}

// enableFlags are --enable and --disable.
func enableFlags(what string) []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "enable", Usage: "enable the " + what},
		&cli.BoolFlag{Name: "disable", Usage: "disable the " + what},
	}
}

// enabledFrom reads --enable and --disable: nil when neither was given.
func enabledFrom(c *cli.Context) (*bool, error) {
	en, dis := c.Bool("enable"), c.Bool("disable")
	switch {
	case en && dis:
		return nil, usagef("--enable and --disable exclude each other")
	case en:
		return ptr(true), nil
	case dis:
		return ptr(false), nil
	}
	return nil, nil
}

func ptr[T any](v T) *T { return &v }
