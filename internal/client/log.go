package client

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"
)

// Log attribute keys, kept in one place so that they never drift between
// messages.
const (
	keyRemote  = "remote"
	keyErr     = "err"
	keyAction  = "action"
	keyScript  = "script"
	keyConfig  = "config"
	keyAddr    = "addr"
	keyCode    = "code"
	keyElapsed = "elapsed"
	keyType    = "type"
)

func attrRemote(c net.Conn) slog.Attr { return slog.String(keyRemote, c.RemoteAddr().String()) }
func attrErr(err error) slog.Attr     { return slog.String(keyErr, err.Error()) }
func attrElapsed(d time.Duration) slog.Attr {
	return slog.String(keyElapsed, d.Round(time.Millisecond).String())
}

// newLogger returns the daemon's logger: text lines to the file at path, or
// to stderr when path is "". The closer closes the file.
func newLogger(path string, stderr io.Writer, verbose bool) (*slog.Logger, io.Closer, error) {
	w := stderr
	var closer io.Closer = io.NopCloser(nil)
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log_path %s: %w; fix log_path, or remove it to log to stderr", path, err)
		}
		w, closer = f, f
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level(verbose)})), closer, nil
}

func level(verbose bool) slog.Level {
	if verbose {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
