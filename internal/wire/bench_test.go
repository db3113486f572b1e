package wire

import (
	"bytes"
	"testing"
)

var output1KiB = MessageActionOutput{Stdout: bytes.Repeat([]byte("x"), 1024)}

// BenchmarkRoundTrip1KiBCached writes and reads a 1 KiB ActionOutput with
// the cached key, as otto does. Budget: 30 µs per round trip.
func BenchmarkRoundTrip1KiBCached(b *testing.B) {
	KeyFor(vectorPSK) // derive outside the timing
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteMessage(MessageTypeActionOutput, output1KiB, &buf, vectorPSK); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ReadMessage(&buf, vectorPSK); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip1KiBDerivePerFrame is the same round trip deriving the
// key for each frame, as 0.x peers do. The cached one must be at least 1000
// times faster.
func BenchmarkRoundTrip1KiBDerivePerFrame(b *testing.B) {
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		if err := NewKey(vectorPSK).WriteMessage(MessageTypeActionOutput, output1KiB, &buf); err != nil {
			b.Fatal(err)
		}
		if _, _, err := NewKey(vectorPSK).ReadMessage(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
