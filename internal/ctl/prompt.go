package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// readLine reads one line from r a byte at a time, so that nothing after
// it is consumed; the line break is dropped.
func readLine(r io.Reader) (string, error) {
	var b bytes.Buffer
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			if b.Len() >= 1<<16 {
				return "", errors.New("the line is longer than 64 KiB")
			}
			b.WriteByte(one[0])
		}
		if err == io.EOF {
			if b.Len() == 0 {
				return "", io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return "", err
		}
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}

// readLineCtx is readLine that gives up when ctx ends (Ctrl-C while a
// prompt waits); the read itself is left behind, blocked, for the
// process's exit to end.
func readLineCtx(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := readLine(r)
		ch <- result{s, err}
	}()
	select {
	case res := <-ch:
		return res.s, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// terminal returns the file of r when r is a terminal.
func terminal(r io.Reader) (*os.File, bool) {
	f, ok := r.(*os.File)
	if !ok || !isTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// askLine asks for a line on the terminal in, the question on w.
func askLine(ctx context.Context, in io.Reader, w io.Writer, question string) (string, error) {
	fmt.Fprint(w, question)
	s, err := readLineCtx(ctx, in)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", strings.TrimSuffix(strings.TrimSpace(question), ":"), err)
	}
	return strings.TrimSpace(s), nil
}

// askPassword reads a password: from the terminal without echo, asking
// on w, when in is one (twice with confirm); else one line from in, so
// that scripts can pipe it.
func askPassword(ctx context.Context, in io.Reader, w io.Writer, question string, confirm bool) (string, error) {
	f, ok := terminal(in)
	if !ok {
		p, err := readLineCtx(ctx, in)
		if err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		if p == "" {
			return "", usagef("the password read from stdin is empty")
		}
		return p, nil
	}
	read := func(q string) (string, error) {
		fmt.Fprint(w, q)
		p, err := readPasswordNoEcho(ctx, f)
		fmt.Fprintln(w)
		return p, err
	}
	p, err := read(question)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if p == "" {
		return "", usagef("empty password")
	}
	if confirm {
		again, err := read("Again: ")
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if again != p {
			return "", usagef("the passwords differ")
		}
	}
	return p, nil
}
