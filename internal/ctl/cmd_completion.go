package ctl

import (
	"context"
	"io"

	"github.com/urfave/cli/v2"
)

// The bash and zsh scripts ask ottoctl itself for the words that may come
// next (urfave/cli's --generate-bash-completion), so they follow the
// commands and flags of the installed version.

const bashCompletion = `# bash completion for ottoctl; load with: source <(ottoctl completion bash)
_ottoctl_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  local request
  if [[ "$cur" == -* ]]; then
    request="${words[*]} ${cur} --generate-bash-completion"
  else
    request="${words[*]} --generate-bash-completion"
  fi
  local opts
  opts=$(eval "${request}" 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _ottoctl_complete ottoctl
`

const zshCompletion = `#compdef ottoctl
# zsh completion for ottoctl; load with: source <(ottoctl completion zsh)
# or save as _ottoctl in a directory of $fpath.
_ottoctl() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion 2>/dev/null)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
if [[ "$(basename -- ${(%):-%x})" != "_ottoctl" ]]; then
  compdef _ottoctl ottoctl
fi
`

func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: describe("Prints the completion script for the shell. Load it from the shell's startup file.",
			[]string{"echo 'source <(ottoctl completion bash)' >> ~/.bashrc",
				"ottoctl completion fish > ~/.config/fish/completions/ottoctl.fish"}, ""),
		Action: act(func(ctx context.Context, c *cli.Context, g *globals, args []string) error {
			if err := needArgs(c, args, 1, 1); err != nil {
				return err
			}
			return runCompletion(args[0], c.App.Writer)
		}),
	}
}

func runCompletion(shell string, out io.Writer) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		ctl := Command()
		app := &cli.App{Name: "ottoctl", Usage: ctl.Usage, Flags: ctl.Flags, Commands: ctl.Subcommands, HideVersion: true}
		var err error
		if script, err = app.ToFishCompletion(); err != nil {
			return err
		}
	default:
		return usagef("no completion for %q: use bash, zsh or fish", shell)
	}
	_, err := io.WriteString(out, script)
	return err
}
