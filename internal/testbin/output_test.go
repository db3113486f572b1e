package testbin

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestOutputAwait(t *testing.T) {
	re := regexp.MustCompile(`msg=listening addr=(\S+)`)

	var o Output
	go func() {
		fmt.Fprintf(&o, "msg=starting\nmsg=listening addr=127.0.0.1:")
		time.Sleep(50 * time.Millisecond)
		fmt.Fprintf(&o, "4242 config=x\n")
	}()
	if m := o.Await(re, 10*time.Second, nil); !slices.Equal(m, []string{"msg=listening addr=127.0.0.1:4242", "127.0.0.1:4242"}) {
		t.Errorf("Await = %q, want the whole address, not the half line written first", m)
	}

	if m := o.Await(regexp.MustCompile(`never`), 50*time.Millisecond, nil); m != nil {
		t.Errorf("Await of a line never written = %q, want nil after the timeout", m)
	}

	// Once stop is closed, the last line counts even without its newline.
	var last Output
	fmt.Fprintf(&last, "msg=listening addr=[::1]:1")
	stop := make(chan struct{})
	close(stop)
	if m := last.Await(re, 10*time.Second, stop); len(m) != 2 || m[1] != "[::1]:1" {
		t.Errorf("Await after stop = %q, want the unended last line", m)
	}
	if m := last.Await(regexp.MustCompile(`never`), 10*time.Second, stop); m != nil {
		t.Errorf("Await of a line never written, after stop = %q, want nil at once", m)
	}
}
