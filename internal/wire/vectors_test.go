package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestVectorsKey(t *testing.T) {
	derived := map[string]string{}
	for _, v := range loadVectors(t) {
		got, ok := derived[v.PSK]
		if !ok {
			got = hex.EncodeToString(deriveKey(v.PSK))
			derived[v.PSK] = got
		}
		if got != v.KeyHex {
			t.Errorf("%s: deriveKey(%q) = %s, want %s", v.Name, v.PSK, got, v.KeyHex)
		}
	}
}

func TestVectorsDecode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			r := bytes.NewReader(v.frame(t))
			typ, msg, err := ReadMessage(r, v.PSK)
			if err != nil {
				t.Fatalf("ReadMessage(%s) error: %v", v.Name, err)
			}
			if typ != v.MessageType {
				t.Errorf("ReadMessage(%s) type = %d, want %d", v.Name, typ, v.MessageType)
			}
			if r.Len() != 0 {
				t.Errorf("ReadMessage(%s) left %d bytes unread", v.Name, r.Len())
			}
			got, err := json.Marshal(plain(msg))
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(v.Value, &want); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want) // sorts keys, as for got
			if !bytes.Equal(got, wantJSON) {
				t.Errorf("ReadMessage(%s) = %T %s, want %s", v.Name, msg, got, wantJSON)
			}
		})
	}
}

// reencodeChildEnv makes TestVectorsReencodeChild run; see TestVectorsReencode.
const reencodeChildEnv = "WIRE_TEST_REENCODE_CHILD"

// TestVectorsReencode checks that re-encoding every vector with its nonce
// reproduces frame_hex byte for byte. gob numbers the types it sends in the
// order a process first encodes them, and the vectors came from a fresh
// process encoding them in file order, so the check runs in a fresh process
// too: this test binary, re-run for TestVectorsReencodeChild alone.
func TestVectorsReencode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestVectorsReencodeChild$", "-test.v")
	cmd.Env = append(os.Environ(), reencodeChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("TestVectorsReencodeChild: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestVectorsReencodeChild")) {
		t.Fatalf("TestVectorsReencodeChild did not run:\n%s", out)
	}
}

func TestVectorsReencodeChild(t *testing.T) {
	if os.Getenv(reencodeChildEnv) != "1" {
		t.Skip("run by TestVectorsReencode in a fresh process")
	}
	prefix := []byte("prefix")
	for _, v := range loadVectors(t) {
		k := KeyFor(v.PSK)
		typ, msg, err := k.ReadMessage(bytes.NewReader(v.frame(t)))
		if err != nil {
			t.Fatalf("ReadMessage(%s) error: %v", v.Name, err)
		}
		got, err := k.appendFrame(slices.Clone(prefix), typ, msg, fromHex(t, v.NonceHex))
		if err != nil {
			t.Fatalf("appendFrame(%s) error: %v", v.Name, err)
		}
		if !bytes.HasPrefix(got, prefix) {
			t.Fatalf("appendFrame(%q, %s) lost the prefix: %q", prefix, v.Name, got)
		}
		got = got[len(prefix):]
		if want := wantReencoded(t, k, v); !bytes.Equal(got, want) {
			t.Errorf("appendFrame(%s) =\n%s\nwant\n%s", v.Name, spaced(got), spaced(want))
		}
	}
}

// wantReencoded returns the frame of v as this package encodes it. The
// vectors were generated in package main, and gob names the unnamed type
// []File after its package: where the vector says "[]main.File" this package
// says "[]wire.File", which has the same length. Peers ignore the name.
func wantReencoded(t *testing.T, k *Key, v vector) []byte {
	frame := v.frame(t)
	pt := openFrame(t, k, frame)
	fixed := bytes.ReplaceAll(pt, []byte("[]main.File"), []byte("[]wire.File"))
	if bytes.Equal(fixed, pt) {
		return frame
	}
	t.Logf("%s: comparing with []main.File renamed to []wire.File", v.Name)
	nonce := frame[headerLen : headerLen+nonceLen]
	return k.aead.Seal(slices.Clip(frame[:headerLen+nonceLen]), nonce, fixed, nil)
}

// TestVectorsStream reads all vectors back to back from one stream, then
// io.EOF.
func TestVectorsStream(t *testing.T) {
	var stream bytes.Buffer
	vs := loadVectors(t)
	for _, v := range vs {
		stream.Write(v.frame(t))
	}
	for _, v := range vs {
		if typ, _, err := ReadMessage(&stream, vectorPSK); err != nil || typ != v.MessageType {
			t.Fatalf("ReadMessage(stream) = %d, %v, want %d (%s), nil", typ, err, v.MessageType, v.Name)
		}
	}
	if _, _, err := ReadMessage(&stream, vectorPSK); !errors.Is(err, io.EOF) {
		t.Errorf("ReadMessage(empty stream) error = %v, want io.EOF", err)
	}
}
