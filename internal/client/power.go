package client

import (
	"context"
	"log/slog"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/otto-automation/otto/internal/wire"
)

// powerTimeout bounds a reboot or shutdown command. shutdown(8) returns
// once the request is made; one that hangs is logged, not waited for.
const powerTimeout = time.Minute

// powerCommand returns the program and arguments for a Reboot or Shutdown
// action: the config's reboot_command or shutdown_command, else the
// platform's.
func powerCommand(action uint32, cfg Config) []string {
	if action == wire.ActionReboot {
		if cfg.RebootCommand != nil {
			return cfg.RebootCommand
		}
		return []string{"shutdown", "-r", "now"}
	}
	if cfg.ShutdownCommand != nil {
		return cfg.ShutdownCommand
	}
	if runtime.GOOS == "linux" {
		return []string{"shutdown", "-h", "now"}
	}
	return []string{"shutdown", "-p", "now"} // the BSDs: -h halts without powering off
}

// findProgram resolves a command name as powerCommand's callers need: a
// name with a slash as it is, else the client's PATH, else /sbin and
// /usr/sbin, where shutdown lives but which a service's PATH may lack.
func findProgram(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	p, err := osexec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/sbin", "/usr/sbin"} {
		if q, err2 := osexec.LookPath(filepath.Join(dir, name)); err2 == nil {
			return q, nil
		}
	}
	return "", err
}

// runPower runs a reboot or shutdown command, after the action was answered
// and the connection closed. ctx ends it early (the daemon is stopping).
func runPower(ctx context.Context, log *slog.Logger, argv []string) {
	prog, err := findProgram(argv[0])
	if err != nil {
		log.Error("cannot find the command", slog.Any("command", argv), attrErr(err))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	out, err := osexec.CommandContext(ctx, prog, argv[1:]...).CombinedOutput()
	if err != nil {
		log.Error("command failed", slog.Any("command", argv), attrErr(err), slog.String("output", string(out)))
		return
	}
	log.Info("command ran", slog.Any("command", argv))
}
