package exec

import (
	"fmt"
	"sync"
)

// output collects a script's stdout and stderr, each up to a limit. The
// buffers only ever grow by appending, so a slice of the first n bytes,
// once handed out, never changes: snapshots need no copy.
type output struct {
	mu      sync.Mutex
	limit   int
	buf     [2][]byte // stdout, stderr
	full    [2]bool
	version uint64 // bumped whenever bytes are appended
}

// streamWriter is the io.Writer for one stream of an output.
type streamWriter struct {
	o *output
	i int
}

// Write always reports success: past the limit the bytes are dropped, but
// the script must keep running, so its pipe keeps being drained.
func (w streamWriter) Write(p []byte) (int, error) {
	w.o.write(w.i, p)
	return len(p), nil
}

func (o *output) write(i int, p []byte) {
	if len(p) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.full[i] {
		return
	}
	if room := o.limit - len(o.buf[i]); len(p) > room {
		o.buf[i] = append(o.buf[i], p[:room]...)
		o.buf[i] = fmt.Appendf(o.buf[i], "\n[otto: output truncated after %d bytes]\n", o.limit)
		o.full[i] = true
	} else {
		o.buf[i] = append(o.buf[i], p...)
	}
	o.version++
}

// snapshot returns the output so far. The slices have their capacity clipped
// so that a caller's append cannot write into the shared backing array.
func (o *output) snapshot() (stdout, stderr []byte, version uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	so, se := o.buf[0], o.buf[1]
	return so[:len(so):len(so)], se[:len(se):len(se)], o.version
}
