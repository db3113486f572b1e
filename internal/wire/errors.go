package wire

import "errors"

// Errors returned by ReadMessage, DecodeMessage and the encoders. They are
// wrapped with the failing step, so test for them with errors.Is.
//
// After ErrVersion, ErrFrameTooLarge or ErrShortFrame the stream is at an
// unknown position, and after ErrAuth the peer is not to be trusted: close
// the connection, and after ErrAuth do so without answering.
var (
	// ErrVersion means the frame header names a protocol version other than
	// ProtocolVersion: the peer speaks another protocol, or is not otto.
	ErrVersion = errors.New("wire: unsupported protocol version")

	// ErrFrameTooLarge means a frame header announces more than MaxFrameLen
	// bytes. ReadMessage reports it before reading or allocating the body;
	// WriteMessage reports it instead of sending a frame that ReadMessage
	// would refuse.
	ErrFrameTooLarge = errors.New("wire: frame too large")

	// ErrShortFrame means a frame header announces fewer bytes than the
	// smallest sealed frame (nonce, message type and tag: 32 bytes), so the
	// frame cannot be authentic. It is reported before reading the body.
	ErrShortFrame = errors.New("wire: frame too short")

	// ErrAuth means the frame failed AES-GCM authentication: it was sealed
	// with another PSK, or it was altered on the way.
	ErrAuth = errors.New("wire: frame failed authentication (wrong psk or tampered frame)")

	// ErrUnknownType means a message type outside 1 to 8, either in an
	// authentic frame or passed to an encoder.
	ErrUnknownType = errors.New("wire: unknown message type")

	// ErrDecode means the body of an authentic frame is not a gob encoding of
	// the struct for its message type.
	ErrDecode = errors.New("wire: cannot decode message body")
)
