package apiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

type event struct{ name, data string }

// readAll reads every event of stream.
func readAll(t *testing.T, stream string) ([]event, error) {
	t.Helper()
	r := newSSEReader(strings.NewReader(stream))
	var got []event
	for {
		name, data, err := r.next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, event{name, string(data)})
	}
}

func TestSSEReader(t *testing.T) {
	stream := ": keepalive\n\n" +
		"event: output\ndata: {\"a\":1}\n\n" +
		"event: state\r\ndata:no-space\r\n\r\n" +
		"data: line one\ndata: line two\nid: 7\nretry: 100\n\n" +
		": a comment inside\nevent: multi\ndata: a\n: between\ndata:  two spaces\ndata\n\n" +
		"event: nodata\n\n" +
		"event: end\ndata: {}\n\n"
	got, err := readAll(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []event{
		{"output", `{"a":1}`},
		{"state", "no-space"},
		{"message", "line one\nline two"},
		{"multi", "a\n two spaces\n"},
		{"end", "{}"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestSSEReaderCutShort(t *testing.T) {
	for _, s := range []string{"event: output\ndata: {\"a\"", "event: output\ndata: x\n"} {
		if _, err := readAll(t, s); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("reading %q = %v, want io.ErrUnexpectedEOF", s, err)
		}
	}
}

func TestSSEReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	got, err := readAll(t, "data: "+long+"\n\n")
	if err != nil || len(got) != 1 || got[0].data != long {
		t.Errorf("reading a 200 KiB line = %d events, %v", len(got), err)
	}
}

func TestSSEReaderTooLarge(t *testing.T) {
	for _, stream := range []string{
		strings.Repeat("data: "+strings.Repeat("x", 100)+"\n", 11) + "\n", // many lines
		"data: " + strings.Repeat("x", 100<<10) + "\n\n",                  // one line, longer than the buffer
	} {
		r := newSSEReader(strings.NewReader(stream))
		r.max = 1000
		if _, _, err := r.next(); err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
			t.Errorf("next on a %d-byte event with a 1000-byte limit = %v, want a size error", len(stream), err)
		}
	}
}

// sseServer serves each request with write, flushing after each part.
func sseServer(t *testing.T, o Options, parts ...string) *Client {
	return newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); got != "text/event-stream" {
			t.Errorf("Accept = %q, want text/event-stream", got)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for _, p := range parts {
			if p == "<wait>" {
				<-r.Context().Done()
				return
			}
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
		}
	}, o)
}

func TestStream(t *testing.T) {
	c := sseServer(t, Options{}, ": hi\n\n", "event: output\ndata: {\"RunID\":\"3\"}\n\n", "event: end\ndata: {}\n\n")
	var got []event
	err := c.Stream(context.Background(), "", "/api/runs/batch/b/stream", nil, func(name string, data []byte) error {
		got = append(got, event{name, string(data)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []event{{"output", `{"RunID":"3"}`}, {"end", "{}"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestStreamStopsAtFnError(t *testing.T) {
	c := sseServer(t, Options{}, "event: a\ndata: 1\n\n", "<wait>")
	stop := errors.New("stop")
	err := c.Stream(context.Background(), "", "/s", nil, func(string, []byte) error { return stop })
	if err != stop {
		t.Errorf("Stream() = %v, want fn's error", err)
	}
}

func TestStreamCutShort(t *testing.T) {
	c := sseServer(t, Options{}, "event: a\ndata: 1\n")
	err := c.Stream(context.Background(), "", "/s", nil, func(string, []byte) error { return nil })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Stream() cut inside an event = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestStreamContextCancel(t *testing.T) {
	c := sseServer(t, Options{}, "event: a\ndata: 1\n\n", "<wait>")
	ctx, cancel := context.WithCancel(context.Background())
	err := c.Stream(ctx, "", "/s", nil, func(string, []byte) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stream() canceled = %v, want context.Canceled", err)
	}
}

func TestStreamIdle(t *testing.T) {
	c := sseServer(t, Options{StreamIdle: 100 * time.Millisecond}, ": keepalive\n\n", "<wait>")
	start := time.Now()
	err := c.Stream(context.Background(), "", "/s", nil, func(string, []byte) error { return nil })
	if !errors.Is(err, ErrStreamIdle) {
		t.Errorf("Stream() silent = %v, want ErrStreamIdle", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Stream() took %s to notice the silence", d)
	}
}

func TestStreamError(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"code":404,"error":{"code":404,"message":"no batch b"}}`)
	}, Options{})
	err := c.Stream(context.Background(), "", "/api/runs/batch/b/stream", nil, func(string, []byte) error { return nil })
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Message != "no batch b" {
		t.Errorf("Stream() of a 404 = %v, want the server's error", err)
	}
}
