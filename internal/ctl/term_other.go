//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package ctl

import (
	"context"
	"errors"
	"os"
)

func isTerminal(int) bool { return false }

func readPasswordNoEcho(context.Context, *os.File) (string, error) {
	return "", errors.New("reading a password from the terminal is not supported here; pipe it to stdin")
}
