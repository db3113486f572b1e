package ctl

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestSSEReader(t *testing.T) {
	stream := ": keepalive\n\n" +
		"event: output\ndata: {\"a\":1}\n\n" +
		"event: state\r\ndata:no-space\r\n\r\n" +
		"data: line one\ndata: line two\nid: 7\nretry: 100\n\n" +
		"event: nodata\n\n" +
		"event: end\ndata: {}\n\n"
	r := newSSEReader(strings.NewReader(stream))
	var got []sseEvent
	for {
		ev, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		got = append(got, ev)
	}
	want := []sseEvent{
		{"output", `{"a":1}`},
		{"state", "no-space"},
		{"message", "line one\nline two"},
		{"end", "{}"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestSSEReaderCutShort(t *testing.T) {
	r := newSSEReader(strings.NewReader("event: output\ndata: {\"a\""))
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("next on a cut stream = %v, want io.ErrUnexpectedEOF", err)
	}
	r = newSSEReader(strings.NewReader("event: output\ndata: x\n"))
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("next on an unfinished event = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestSSEReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	r := newSSEReader(strings.NewReader("data: " + long + "\n\n"))
	ev, err := r.next()
	if err != nil || ev.data != long {
		t.Errorf("next = %d bytes, %v; want %d bytes", len(ev.data), err, len(long))
	}
}

func TestLineBuffer(t *testing.T) {
	var b strings.Builder
	lb := &lineBuffer{prefix: "web1: ", w: &b}
	for _, chunk := range []string{"hel", "lo\nwor", "ld\n", "\n", "no end"} {
		lb.write(chunk)
	}
	if got, want := b.String(), "web1: hello\nweb1: world\nweb1: \n"; got != want {
		t.Errorf("before flush: %q, want %q", got, want)
	}
	lb.flush()
	lb.flush()
	if got, want := b.String(), "web1: hello\nweb1: world\nweb1: \nweb1: no end\n"; got != want {
		t.Errorf("after flush: %q, want %q", got, want)
	}
}
