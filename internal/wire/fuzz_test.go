package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// maxFuzzLen skips inputs far beyond any interesting frame, to keep the
// fuzzers fast.
const maxFuzzLen = 1 << 20

// FuzzReadMessage feeds bytes to ReadMessage. Property: no panic, only the
// documented errors, and a frame that reads re-encodes to one that reads the
// same. Random bytes rarely pass authentication; FuzzDecodeMessage covers the
// bodies.
//
// It is seeded with the vectors and the upstream frames; its checked-in
// corpus, testdata/fuzz/FuzzReadMessage, holds the vectors and would hold
// any crasher, named in a comment here with its bug.
func FuzzReadMessage(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.frame(f))
	}
	for _, name := range upstreamFiles {
		f.Add(bytes.Join(loadUpstream(f, name), nil))
	}
	k := KeyFor(vectorPSK)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzLen {
			t.Skip()
		}
		typ, msg, err := k.ReadMessage(bytes.NewReader(data))
		if err != nil {
			if !isFrameError(err) {
				t.Fatalf("ReadMessage(% x) error = %v, want one of %v", data, err, frameErrors)
			}
			return
		}
		checkReencode(t, k, typ, msg)
	})
}

// FuzzDecodeMessage feeds a message type and a body to DecodeMessage.
// Property: no panic, only ErrUnknownType or ErrDecode, and a body that
// decodes re-encodes to one that decodes the same.
//
// It is seeded with the bodies of the vectors, the upstream frames and the
// samples; its checked-in corpus, testdata/fuzz/FuzzDecodeMessage, holds the
// bodies of the vectors and would hold any crasher, named in a comment here
// with its bug.
func FuzzDecodeMessage(f *testing.F) {
	k := KeyFor(vectorPSK)
	for _, v := range loadVectors(f) {
		pt := openFrame(f, k, v.frame(f))
		f.Add(binary.BigEndian.Uint32(pt), pt[typeLen:])
	}
	uk := KeyFor(upstreamPSK)
	for _, name := range upstreamFiles {
		for _, frame := range loadUpstream(f, name) {
			pt := openFrame(f, uk, frame)
			f.Add(binary.BigEndian.Uint32(pt), pt[typeLen:])
		}
	}
	for _, s := range samples {
		body, err := EncodeMessage(s.typ, s.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.typ, body)
	}
	f.Fuzz(func(t *testing.T, typ uint32, data []byte) {
		if len(data) > maxFuzzLen {
			t.Skip()
		}
		msg, err := DecodeMessage(typ, data)
		if err != nil {
			if !errors.Is(err, ErrUnknownType) && !errors.Is(err, ErrDecode) {
				t.Fatalf("DecodeMessage(%d, % x) error = %v, want ErrUnknownType or ErrDecode", typ, data, err)
			}
			return
		}
		body, err := EncodeMessage(typ, msg)
		if err != nil {
			t.Fatalf("EncodeMessage(%d, %#v) error: %v", typ, msg, err)
		}
		again, err := DecodeMessage(typ, body)
		if err != nil {
			t.Fatalf("DecodeMessage(EncodeMessage(%d, %#v)) error: %v", typ, msg, err)
		}
		want, _ := sendable(typ, msg)
		if !sameMessage(again, want) {
			t.Fatalf("DecodeMessage(EncodeMessage(%d, %#v)) = %#v, want %#v", typ, msg, again, want)
		}
	})
}

// checkReencode writes msg as a frame and reads it back.
func checkReencode(t *testing.T, k *Key, typ uint32, msg any) {
	t.Helper()
	var buf bytes.Buffer
	if err := k.WriteMessage(typ, msg, &buf); err != nil {
		t.Fatalf("WriteMessage(%d, %#v) error: %v", typ, msg, err)
	}
	typ2, again, err := k.ReadMessage(&buf)
	if err != nil {
		t.Fatalf("ReadMessage(WriteMessage(%d, %#v)) error: %v", typ, msg, err)
	}
	want, _ := sendable(typ, msg)
	if typ2 != typ || !sameMessage(again, want) {
		t.Fatalf("ReadMessage(WriteMessage(%d, %#v)) = %d %#v, want %d %#v", typ, msg, typ2, again, typ, want)
	}
}
