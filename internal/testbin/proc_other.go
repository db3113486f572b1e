//go:build !linux

package testbin

import "syscall"

func dieWithParent(*syscall.SysProcAttr) {}
