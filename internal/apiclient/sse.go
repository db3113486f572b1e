package apiclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// maxEvent bounds one server-sent event, in bytes: an output event
// carries what a script printed since the last event, which the server
// sends often.
const maxEvent = 64 << 20

// Stream opens a server-sent event stream (GET path when method is "" or
// GET without body, else method with body as JSON) and calls fn for each
// event with its name ("message" when the server names none) and its data
// lines joined by "\n". It returns nil when the server ends the stream
// between events, fn's error when fn returns one, ctx's error when ctx is
// done, and an error matching ErrStreamIdle when the stream stays silent
// longer than Options.StreamIdle.
func (c *Client) Stream(ctx context.Context, method, path string, body any, fn func(event string, data []byte) error) error {
	if method == "" {
		method = http.MethodGet
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idle atomic.Bool
	var timer *time.Timer
	if c.streamIdle > 0 {
		timer = time.AfterFunc(c.streamIdle, func() { idle.Store(true); cancel() })
		defer timer.Stop()
	}
	idleErr := func(err error) error {
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case idle.Load():
			return fmt.Errorf("%w for %s", ErrStreamIdle, c.streamIdle)
		}
		return err
	}
	resp, err := c.open(sctx, method, path, body, "text/event-stream")
	if err != nil {
		return idleErr(err)
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if timer != nil {
		timer.Reset(c.streamIdle)
		r = idleReader{r: resp.Body, t: timer, d: c.streamIdle}
	}
	sr := newSSEReader(r)
	for {
		name, data, err := sr.next()
		if err != nil {
			if errors.Is(err, io.EOF) && ctx.Err() == nil && !idle.Load() {
				return nil
			}
			return idleErr(fmt.Errorf("reading the stream of %s: %w", path, err))
		}
		if err := fn(name, data); err != nil {
			return err
		}
	}
}

// idleReader resets a timer at each read that brings something.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (i idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.t.Reset(i.d)
	}
	return n, err
}

// sseReader reads a text/event-stream as the HTML standard describes it:
// "field: value" lines, events ended by a blank line, comments starting
// with ":". The id and retry fields are read and ignored.
type sseReader struct {
	r   *bufio.Reader
	max int // bytes of one event: maxEvent
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), max: maxEvent}
}

// next returns the next event; io.EOF when the stream ends between
// events, io.ErrUnexpectedEOF when it ends inside one.
func (s *sseReader) next() (name string, data []byte, err error) {
	hasData, inEvent := false, false
	size := 0
	for {
		line, err := s.line()
		if err != nil {
			if errors.Is(err, io.EOF) && inEvent {
				return "", nil, io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		size += len(line)
		if size > s.max {
			return "", nil, fmt.Errorf("server-sent event larger than %s", fmtBytes(int64(s.max)))
		}
		if len(line) == 0 {
			if !hasData {
				name, data, inEvent = "", nil, false // nothing to dispatch, per the standard
				continue
			}
			if name == "" {
				name = "message"
			}
			return name, data, nil
		}
		if line[0] == ':' {
			continue // a comment: keepalive
		}
		inEvent = true
		field, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
	}
}

// line reads one line without its ending (\n or \r\n; a lone \r, which
// the standard also allows, is not used by otto and not handled). The
// line is a fresh copy.
func (s *sseReader) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > s.max {
			return nil, fmt.Errorf("server-sent event larger than %s", fmtBytes(int64(s.max)))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		break
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return buf, nil
}
