package wire

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	vectorPSK   = "otto-test-vector-psk" // the PSK of every frame in testdata/vectors.json
	upstreamPSK = "upstream-test-psk"    // the PSK of every frame in testdata/upstream
)

// vector is one entry of testdata/vectors.json.
type vector struct {
	Name        string          `json:"name"`
	PSK         string          `json:"psk"`
	KeyHex      string          `json:"scrypt_key_hex"`
	NonceHex    string          `json:"nonce_hex"`
	MessageType uint32          `json:"message_type"`
	Value       json.RawMessage `json:"value"` // struct fields under their Go names
	FrameHex    string          `json:"frame_hex"`
}

func (v vector) frame(tb testing.TB) []byte { return fromHex(tb, v.FrameHex) }

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatalf("testdata/vectors.json: %v", err)
	}
	return vs
}

// loadUpstream returns the frames of testdata/upstream/name, one per line.
func loadUpstream(tb testing.TB, name string) [][]byte {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "upstream", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var frames [][]byte
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" {
			frames = append(frames, fromHex(tb, line))
		}
	}
	if err := s.Err(); err != nil {
		tb.Fatal(err)
	}
	return frames
}

var upstreamFiles = []string{"heartbeat_response.hex", "run_script.hex", "update_psk.hex", "upload_file.hex"}

// fromHex decodes hex, ignoring spaces.
func fromHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// spaced renders b as hex in groups of 4 bytes, 32 bytes a line, so that
// failures show where two frames differ.
func spaced(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 4 {
		switch {
		case i == 0:
		case i%32 == 0:
			sb.WriteByte('\n')
		default:
			sb.WriteByte(' ')
		}
		sb.WriteString(hex.EncodeToString(b[i:min(i+4, len(b))]))
	}
	return sb.String()
}

// plain returns v as a tree of map[string]any, []any, []byte and scalars,
// with struct fields under their Go names, ignoring JSON tags, and with empty
// maps and slices as nil, which gob does not tell apart. Two messages are the
// same if their plain trees are reflect.DeepEqual; a plain tree marshals to
// the JSON of vectors.json.
func plain(v any) any { return plainValue(reflect.ValueOf(v)) }

func plainValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return plainValue(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				m[f.Name] = plainValue(v.Field(i))
			}
		}
		return m
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		m := map[string]any{}
		for iter := v.MapRange(); iter.Next(); {
			m[iter.Key().String()] = plainValue(iter.Value())
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Bytes()
		}
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plainValue(v.Index(i))
		}
		return s
	default:
		return v.Interface()
	}
}

func sameMessage(a, b any) bool { return reflect.DeepEqual(plain(a), plain(b)) }

// sealFrame seals plaintext (a message type, then body) into a frame with a
// fixed nonce, bypassing the encoder, to build frames it would refuse.
func sealFrame(k *Key, messageType uint32, body []byte) []byte {
	nonce := make([]byte, nonceLen)
	pt := binary.BigEndian.AppendUint32(nil, messageType)
	pt = append(pt, body...)
	frame := binary.BigEndian.AppendUint32(nil, ProtocolVersion)
	frame = binary.BigEndian.AppendUint32(frame, uint32(nonceLen+len(pt)+tagLen))
	frame = append(frame, nonce...)
	return k.aead.Seal(frame, nonce, pt, nil)
}

// openFrame returns the plaintext of a well-formed frame.
func openFrame(tb testing.TB, k *Key, frame []byte) []byte {
	tb.Helper()
	body := frame[headerLen:]
	pt, err := k.aead.Open(nil, body[:nonceLen], body[nonceLen:], nil)
	if err != nil {
		tb.Fatalf("opening frame: %v", err)
	}
	return pt
}

// frameErrors are the errors ReadMessage may return for bad input.
var frameErrors = []error{ErrVersion, ErrFrameTooLarge, ErrShortFrame, ErrAuth, ErrUnknownType, ErrDecode, io.EOF, io.ErrUnexpectedEOF}

func isFrameError(err error) bool {
	for _, target := range frameErrors {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
