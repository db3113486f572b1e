package testbin

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The lines otto logs once it accepts connections, which tests wait for to
// learn where a process listens (it is started on port 0).
var (
	// ServerListening matches the line of "otto server"; the submatches
	// are its address and its URL.
	ServerListening = regexp.MustCompile(`msg=listening addr=(\S+) url=(\S+)`)
	// ClientListening matches the line of "otto client"; the submatch is
	// its address.
	ClientListening = regexp.MustCompile(`msg=listening addr=(\S+)`)
)

// Output collects the output of a process a test started. The process
// writes while the test reads, so it is safe for concurrent use; a test can
// also wait for a line of it. The zero value is ready to use.
type Output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed by the next Write; nil if no Await waits
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Await waits until a line matches re and returns its submatches, as
// re.FindStringSubmatch does. It looks only at complete lines, so that a
// match does not end inside a line still being written. It returns nil
// after d, or once stop is closed and no line matches: a test closes stop
// when the process exited, since its output is then complete (the last
// line too, ended or not). stop may be nil.
func (o *Output) Await(re *regexp.Regexp, d time.Duration, stop <-chan struct{}) []string {
	timer := time.NewTimer(d)
	defer timer.Stop()
	seen := 0 // the lines before it did not match
	for final := false; ; {
		o.mu.Lock()
		text := string(o.b.Bytes()[seen:])
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		if !final {
			text = text[:strings.LastIndexByte(text, '\n')+1]
		}
		for line := range strings.Lines(text) {
			if m := re.FindStringSubmatch(strings.TrimSuffix(line, "\n")); m != nil {
				return m
			}
		}
		if final {
			return nil
		}
		seen += len(text)
		select {
		case <-changed:
		case <-stop:
			final = true // look once more, at all of it
		case <-timer.C:
			return nil
		}
	}
}
