package wire

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/scrypt"
)

// Key seals and opens frames for one PSK. It is safe for concurrent use.
// Get one from KeyFor or NewKey; the zero Key is not usable.
type Key struct {
	aead cipher.AEAD
}

// NewKey derives the key for psk with scrypt, without the cache. That takes
// tens of milliseconds and 32 MiB each time, so use KeyFor unless a one-off
// key is really wanted.
func NewKey(psk string) *Key {
	return newKey(deriveKey(psk))
}

// KeyFor returns the key for psk from a cache shared by the process, deriving
// it on first use (which blocks for the time NewKey takes). Concurrent first
// uses of one PSK derive it once, and at most one derivation per CPU runs at
// a time (each holds 32 MiB). The cache keeps the most recently used 32768
// keys, indexed by a SHA-256 of the PSK rather than the PSK itself.
func KeyFor(psk string) *Key {
	return keys.get(psk)
}

// deriveKey returns the AES-256 key for psk: scrypt with an empty salt.
func deriveKey(psk string) []byte {
	k, err := scrypt.Key([]byte(psk), nil, scryptN, scryptR, scryptP, keyLen)
	if err != nil {
		panic("wire: scrypt rejected fixed parameters: " + err.Error())
	}
	return k
}

func newKey(raw []byte) *Key {
	block, err := aes.NewCipher(raw)
	if err != nil {
		panic("wire: " + err.Error()) // only for a key that is not 16, 24 or 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("wire: " + err.Error()) // only for a block size other than 16
	}
	return &Key{aead: aead}
}

// ReadMessage reads one frame from r with the key for psk, taken from the
// cache of KeyFor, and returns its message type and message as DecodeMessage
// does. See (*Key).ReadMessage.
func ReadMessage(r io.Reader, psk string) (uint32, any, error) {
	return KeyFor(psk).ReadMessage(r)
}

// WriteMessage writes message as one frame to w with the key for psk, taken
// from the cache of KeyFor. See (*Key).WriteMessage.
func WriteMessage(messageType uint32, message any, w io.Writer, psk string) error {
	return KeyFor(psk).WriteMessage(messageType, message, w)
}

// WriteMessage encodes message as EncodeMessage does, seals it with a random
// nonce and writes the frame to w in a single Write call. It fails with
// ErrFrameTooLarge if the frame would exceed MaxFrameLen.
func (k *Key) WriteMessage(messageType uint32, message any, w io.Writer) error {
	var nonce [nonceLen]byte
	rand.Read(nonce[:]) // never fails: crypto/rand aborts the program instead
	frame, err := k.appendFrame(nil, messageType, message, nonce[:])
	if err != nil {
		return err
	}
	if _, err := w.Write(frame); err != nil {
		return fmt.Errorf("wire: writing frame: %w", err)
	}
	return nil
}

// appendFrame appends the frame for message, sealed with nonce, to dst. On
// error it returns dst unchanged. A nonce must never be used twice with one
// key: only tests pass anything but a random one.
func (k *Key) appendFrame(dst []byte, messageType uint32, message any, nonce []byte) ([]byte, error) {
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, ProtocolVersion)
	dst = binary.BigEndian.AppendUint32(dst, 0) // length, set below
	dst = append(dst, nonce...)
	plain := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, messageType)
	dst, err := appendBody(dst, messageType, message)
	if err != nil {
		return dst[:start], err
	}
	dst = slices.Grow(dst, tagLen)
	dst = k.aead.Seal(dst[:plain], nonce, dst[plain:], nil) // in place
	n := len(dst) - start - headerLen
	if uint64(n) > uint64(MaxFrameLen) {
		return dst[:start], fmt.Errorf("%w: %s would be %d bytes, limit %d", ErrFrameTooLarge, messageName(messageType), n, MaxFrameLen)
	}
	binary.BigEndian.PutUint32(dst[start+4:], uint32(n))
	return dst, nil
}

// ReadMessage reads one frame from r and returns its message type and its
// message as DecodeMessage does. It checks the frame in this order, stopping
// at the first failure:
//
//   - the 8-byte header: a clean end of r before it yields an error that
//     matches io.EOF, meaning the peer closed the connection;
//   - the version: ErrVersion;
//   - the length: ErrFrameTooLarge above MaxFrameLen, ErrShortFrame below
//     the smallest sealed frame, both before reading the body;
//   - the body: io.ErrUnexpectedEOF if r ends early. Memory for it grows
//     with the bytes that arrive, not with the length announced;
//   - authentication: ErrAuth;
//   - the message type: ErrUnknownType;
//   - the gob body: ErrDecode.
//
// Close the connection after any error; after ErrAuth, without answering.
func (k *Key) ReadMessage(r io.Reader) (uint32, any, error) {
	var hdr [headerLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, fmt.Errorf("wire: reading frame header: %w", err)
	}
	if v := binary.BigEndian.Uint32(hdr[:4]); v != ProtocolVersion {
		return 0, nil, fmt.Errorf("%w %d, want %d", ErrVersion, v, ProtocolVersion)
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > MaxFrameLen {
		return 0, nil, fmt.Errorf("%w: header announces %d bytes, limit %d", ErrFrameTooLarge, n, MaxFrameLen)
	}
	if n < minFrameLen {
		return 0, nil, fmt.Errorf("%w: header announces %d bytes, minimum %d", ErrShortFrame, n, minFrameLen)
	}
	body, err := readBody(r, int(n))
	if err != nil {
		return 0, nil, fmt.Errorf("wire: reading frame body: %w", err)
	}
	nonce, sealed := body[:nonceLen], body[nonceLen:]
	plain, err := k.aead.Open(sealed[:0], nonce, sealed, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: opening %d-byte frame", ErrAuth, n)
	}
	messageType := binary.BigEndian.Uint32(plain)
	msg, err := DecodeMessage(messageType, plain[typeLen:])
	if err != nil {
		return 0, nil, err
	}
	return messageType, msg, nil
}

// HeaderLen is the length of a frame's header: the protocol version and the
// length of the rest of the frame, both uint32 big-endian.
const HeaderLen = headerLen

// FrameLen returns the length that a frame's header announces for the rest
// of the frame. It checks nothing: a reader that looks at the header before
// ReadMessage (to budget memory for the body, say) hands the header back to
// ReadMessage, which checks it.
func FrameLen(header [HeaderLen]byte) uint32 {
	return binary.BigEndian.Uint32(header[4:])
}

// readBody reads exactly n bytes from r. It allocates at most firstReadLen
// up front and doubles the buffer as bytes arrive, so a peer must send the
// bytes it announced to make it hold them.
func readBody(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, firstReadLen))
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(make([]byte, 0, min(n, 2*cap(b))), b...)
		}
		m, err := io.ReadFull(r, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the header promised more
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}
