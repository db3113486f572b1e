package ctl

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxSSEEvent bounds one server-sent event: an output event carries what
// a script printed since the last event, which the server sends often.
const maxSSEEvent = 64 << 20

// sseEvent is one server-sent event: its type ("message" when the server
// names none) and its data lines joined by "\n".
type sseEvent struct {
	name string
	data string
}

// sseReader reads a text/event-stream as the HTML standard describes it:
// "field: value" lines, events ended by a blank line, comments starting
// with ":". The id and retry fields are read and ignored.
type sseReader struct {
	r *bufio.Reader
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next event; io.EOF when the stream ends between
// events, io.ErrUnexpectedEOF when it ends inside one.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data strings.Builder
	hasData, inEvent := false, false
	size := 0
	for {
		line, err := s.line()
		if err != nil {
			if errors.Is(err, io.EOF) && inEvent {
				return ev, io.ErrUnexpectedEOF
			}
			return ev, err
		}
		size += len(line)
		if size > maxSSEEvent {
			return ev, fmt.Errorf("server-sent event larger than %d MiB", maxSSEEvent>>20)
		}
		if line == "" {
			if !hasData {
				ev, inEvent = sseEvent{}, false // nothing to dispatch, per the standard
				continue
			}
			if ev.name == "" {
				ev.name = "message"
			}
			ev.data = data.String()
			return ev, nil
		}
		if line[0] == ':' {
			continue // a comment: keepalive
		}
		inEvent = true
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			ev.name = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		}
	}
}

// line reads one line without its ending (\n or \r\n; a lone \r, which
// the standard also allows, is not used by otto and not handled).
func (s *sseReader) line() (string, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxSSEEvent {
			return "", fmt.Errorf("server-sent event line longer than %d MiB", maxSSEEvent>>20)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		break
	}
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return string(buf), nil
}
