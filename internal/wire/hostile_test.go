package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
)

// header returns a frame header.
func header(version, length uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, version), length)
}

// totalAlloc returns the bytes f allocates, as runtime.MemStats counts them.
func totalAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func keepaliveFrame(tb testing.TB) []byte { return loadVectors(tb)[0].frame(tb) }

func TestReadMessage_ErrVersion(t *testing.T) {
	frame := keepaliveFrame(t)
	for _, version := range []uint32{0, 1, 3, 0x02000000, 0xffffffff} {
		bad := append(header(version, uint32(len(frame)-headerLen)), frame[headerLen:]...)
		if _, _, err := ReadMessage(bytes.NewReader(bad), vectorPSK); !errors.Is(err, ErrVersion) {
			t.Errorf("ReadMessage(version %d) error = %v, want ErrVersion", version, err)
		}
	}
}

func TestReadMessage_ErrFrameTooLarge(t *testing.T) {
	k := KeyFor(vectorPSK) // derived outside the measurement
	for _, length := range []uint32{MaxFrameLen + 1, 1 << 31, 0xffffffff} {
		in := header(ProtocolVersion, length)
		var err error
		alloc := totalAlloc(func() {
			for range 10 {
				_, _, err = k.ReadMessage(bytes.NewReader(in))
			}
		})
		if !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("ReadMessage(length %d) error = %v, want ErrFrameTooLarge", length, err)
		}
		if alloc > 1<<20 {
			t.Errorf("ReadMessage(length %d) 10 times allocated %d bytes, want < 1 MiB", length, alloc)
		}
	}
}

// TestReadMessage_AnnouncedNotSent checks that a header announcing a large
// frame, followed by little, costs memory for what arrived only.
func TestReadMessage_AnnouncedNotSent(t *testing.T) {
	k := KeyFor(vectorPSK)
	in := append(header(ProtocolVersion, MaxFrameLen), make([]byte, 100<<10)...)
	var err error
	alloc := totalAlloc(func() { _, _, err = k.ReadMessage(bytes.NewReader(in)) })
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadMessage(%d bytes announced, 100 KiB sent) error = %v, want io.ErrUnexpectedEOF", MaxFrameLen, err)
	}
	if alloc > 1<<20 {
		t.Errorf("ReadMessage(%d bytes announced, 100 KiB sent) allocated %d bytes, want < 1 MiB", MaxFrameLen, alloc)
	}
}

func TestMaxFrameLenLowered(t *testing.T) {
	defer func(old uint32) { MaxFrameLen = old }(MaxFrameLen)
	frame := loadVectors(t)[1].frame(t) // heartbeat_request, 98 bytes after the header
	MaxFrameLen = 64
	if _, _, err := ReadMessage(bytes.NewReader(frame), vectorPSK); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("ReadMessage(98-byte frame, MaxFrameLen 64) error = %v, want ErrFrameTooLarge", err)
	}
	var buf bytes.Buffer
	err := WriteMessage(MessageTypeHeartbeatRequest, MessageHeartbeatRequest{ServerVersion: "1.0.0"}, &buf, vectorPSK)
	if !errors.Is(err, ErrFrameTooLarge) || buf.Len() != 0 {
		t.Errorf("WriteMessage(98-byte frame, MaxFrameLen 64) wrote %d bytes, error %v, want nothing and ErrFrameTooLarge", buf.Len(), err)
	}
	MaxFrameLen = 98
	if _, _, err := ReadMessage(bytes.NewReader(frame), vectorPSK); err != nil {
		t.Errorf("ReadMessage(98-byte frame, MaxFrameLen 98) error = %v, want nil", err)
	}
}

func TestReadMessage_ErrShortFrame(t *testing.T) {
	for _, length := range []uint32{0, 1, 16, minFrameLen - 1} {
		in := append(header(ProtocolVersion, length), make([]byte, minFrameLen)...)
		if _, _, err := ReadMessage(bytes.NewReader(in), vectorPSK); !errors.Is(err, ErrShortFrame) {
			t.Errorf("ReadMessage(length %d) error = %v, want ErrShortFrame", length, err)
		}
	}
}

func TestReadMessage_ErrAuth(t *testing.T) {
	zeros := append(header(ProtocolVersion, minFrameLen), make([]byte, minFrameLen)...)
	if _, _, err := ReadMessage(bytes.NewReader(zeros), vectorPSK); !errors.Is(err, ErrAuth) {
		t.Errorf("ReadMessage(zero frame) error = %v, want ErrAuth", err)
	}
	for _, v := range loadVectors(t) {
		if _, _, err := ReadMessage(bytes.NewReader(v.frame(t)), upstreamPSK); !errors.Is(err, ErrAuth) {
			t.Errorf("ReadMessage(%s, wrong psk) error = %v, want ErrAuth", v.Name, err)
		}
	}
	for _, name := range upstreamFiles {
		for i, frame := range loadUpstream(t, name) {
			if _, _, err := ReadMessage(bytes.NewReader(frame), vectorPSK); !errors.Is(err, ErrAuth) {
				t.Errorf("ReadMessage(%s frame %d, wrong psk) error = %v, want ErrAuth", name, i, err)
			}
		}
	}
}

func TestReadMessage_ErrUnknownType(t *testing.T) {
	k := KeyFor(vectorPSK)
	for _, typ := range []uint32{0, MessageTypeGeneralFailure + 1, 0x100, 0xffffffff} {
		frame := sealFrame(k, typ, nil)
		if _, _, err := k.ReadMessage(bytes.NewReader(frame)); !errors.Is(err, ErrUnknownType) {
			t.Errorf("ReadMessage(sealed type %d) error = %v, want ErrUnknownType", typ, err)
		}
	}
}

func TestReadMessage_ErrDecode(t *testing.T) {
	k := KeyFor(vectorPSK)
	hbRequest, err := EncodeMessage(MessageTypeHeartbeatRequest, MessageHeartbeatRequest{ServerVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	bodies := []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"text", []byte("not gob at all")},
		{"truncated gob", hbRequest[:len(hbRequest)/2]},
		{"zeros", make([]byte, 64)},
	}
	for typ := MessageTypeHeartbeatRequest; typ <= MessageTypeGeneralFailure; typ++ {
		for _, b := range bodies {
			frame := sealFrame(k, typ, b.body)
			if _, _, err := k.ReadMessage(bytes.NewReader(frame)); !errors.Is(err, ErrDecode) {
				t.Errorf("ReadMessage(%s, %s body) error = %v, want ErrDecode", messageName(typ), b.name, err)
			}
		}
	}
	// gob matches fields by name: a body whose fields all differ is refused.
	frame := sealFrame(k, MessageTypeActionOutput, hbRequest)
	if _, _, err := k.ReadMessage(bytes.NewReader(frame)); !errors.Is(err, ErrDecode) {
		t.Errorf("ReadMessage(ActionOutput, HeartbeatRequest body) error = %v, want ErrDecode", err)
	}
}

// TestReadMessage_Truncated cuts every vector at every length: nothing at
// all is a clean io.EOF, anything else io.ErrUnexpectedEOF.
func TestReadMessage_Truncated(t *testing.T) {
	k := KeyFor(vectorPSK)
	for _, v := range loadVectors(t) {
		frame := v.frame(t)
		for n := range len(frame) {
			want := io.ErrUnexpectedEOF
			if n == 0 {
				want = io.EOF
			}
			_, _, err := k.ReadMessage(bytes.NewReader(frame[:n]))
			if !errors.Is(err, want) || (n > 0 && errors.Is(err, io.EOF)) {
				t.Errorf("ReadMessage(%s[:%d]) error = %v, want %v", v.Name, n, err, want)
			}
		}
	}
}

// TestReadMessage_BitFlips flips each bit of every vector in turn and
// checks that ReadMessage fails with the error for the part it hit, and
// that a flip in the header costs no large allocation.
func TestReadMessage_BitFlips(t *testing.T) {
	k := KeyFor(vectorPSK)
	for _, v := range loadVectors(t) {
		frame := v.frame(t)
		for i := range frame {
			for bit := range 8 {
				frame[i] ^= 1 << bit
				var err error
				read := func() { _, _, err = k.ReadMessage(bytes.NewReader(frame)) }
				if i < headerLen {
					if alloc := totalAlloc(read); alloc > 1<<20 {
						t.Errorf("ReadMessage(%s, bit %d of byte %d flipped) allocated %d bytes, want < 1 MiB", v.Name, bit, i, alloc)
					}
				} else {
					read()
				}
				frame[i] ^= 1 << bit

				var want []error
				switch {
				case i < 4:
					want = []error{ErrVersion}
				case i < headerLen:
					want = []error{ErrFrameTooLarge, ErrShortFrame, io.ErrUnexpectedEOF, ErrAuth}
				default:
					want = []error{ErrAuth}
				}
				if !isOneOf(err, want) {
					t.Errorf("ReadMessage(%s, bit %d of byte %d flipped) error = %v, want one of %v", v.Name, bit, i, err, want)
				}
			}
		}
	}
}

func isOneOf(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// TestErrorMessages pins how errors read: the package, the step, the
// detail.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "wire: reading frame header: EOF"},
		{header(3, 32), "wire: unsupported protocol version 3, want 2"},
		{header(2, 0xffffffff), fmt.Sprintf("wire: frame too large: header announces 4294967295 bytes, limit %d", MaxFrameLen)},
		{header(2, 1), "wire: frame too short: header announces 1 bytes, minimum 32"},
		{header(2, 32), "wire: reading frame body: unexpected EOF"},
		{append(header(2, 32), make([]byte, 32)...), "wire: frame failed authentication (wrong psk or tampered frame): opening 32-byte frame"},
	}
	for _, tt := range tests {
		_, _, err := ReadMessage(bytes.NewReader(tt.in), vectorPSK)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ReadMessage(% x) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}
