package wire

import "time"

// Fixed by protocol 2. Changing any of these breaks compatibility with
// deployed peers.

// ProtocolVersion is the version this package speaks, the first field of
// every frame.
const ProtocolVersion = uint32(2)

// Message types, the first four bytes of every plaintext.
const (
	MessageTypeKeepalive         uint32 = iota + 1 // client to server, no body
	MessageTypeHeartbeatRequest                    // server to client, MessageHeartbeatRequest
	MessageTypeHeartbeatResponse                   // client to server, MessageHeartbeatResponse
	MessageTypeTriggerAction                       // server to client, MessageTriggerAction
	MessageTypeCancelAction                        // server to client, MessageCancelAction
	MessageTypeActionOutput                        // client to server, MessageActionOutput
	MessageTypeActionResult                        // client to server, MessageActionResult
	MessageTypeGeneralFailure                      // client to server, MessageGeneralFailure
)

// Actions, the values of MessageTriggerAction.Action.
const (
	ActionRunScript         uint32 = iota + 1 // run Script
	ActionReloadConfig                        // re-read the client's config file
	ActionUploadFile                          // place File
	ActionUploadFileAndExit                   // place File, answer, then exit (binary update)
	ActionExit                                // answer, then exit
	ActionReboot                              // answer, then reboot the host
	ActionShutdown                            // answer, then power the host off
	ActionUpdatePSK                           // store NewPSK, answer with the old PSK
)

// RegisterProtoHeader is the HTTP header of a registration request that
// carries ProtocolVersion in decimal.
const RegisterProtoHeader = "X-OTTO-PROTO-VERSION"

// KeepaliveInterval is the longest a client stays silent while it runs an
// action: it sends a Keepalive when it has sent nothing else for this long,
// so a server's read deadline must be longer.
const KeepaliveInterval = 10 * time.Second

// Frame layout and key derivation.
const (
	headerLen   = 8                           // bytes: version and length, both uint32 BE
	nonceLen    = 12                          // bytes: AES-GCM standard nonce
	tagLen      = 16                          // bytes: AES-GCM tag
	typeLen     = 4                           // bytes: message type, uint32 BE
	minFrameLen = nonceLen + typeLen + tagLen // bytes: the smallest sealed frame, a Keepalive

	scryptN = 32768 // scrypt CPU/memory cost; with r=8 it uses 32 MiB
	scryptR = 8     // scrypt block size
	scryptP = 1     // scrypt parallelism
	keyLen  = 32    // bytes: an AES-256 key
)

// Otto's own choices. Peers do not depend on these values.

// MaxFrameLen is the largest frame length, in bytes after the 8-byte header,
// that ReadMessage accepts and WriteMessage sends. A header announcing more
// is refused with ErrFrameTooLarge before anything is allocated for it.
//
// The default, 128 MiB, leaves room for the largest legitimate message, an
// UploadFileAndExit carrying a client binary, with a wide margin. A program
// may lower it once at startup, before any frame is read or written; it is
// not safe to change while frames are in flight.
var MaxFrameLen uint32 = 128 << 20

const (
	// keyCacheSize bounds the number of PSKs whose keys KeyFor keeps, so a
	// server that sees many PSKs over its life does not grow without limit.
	// Each entry holds an AES-GCM AEAD, about 1 KiB. A sweep touches every
	// host's key in turn, so the bound must exceed the largest fleet one
	// server looks after (10,000 hosts, plus pending PSKs during rotations):
	// below that, an LRU evicts each key just before its next use and every
	// sweep derives them all again. 32768 keys is at most 32 MiB.
	keyCacheSize = 32768

	// firstReadLen is, in bytes, how much ReadMessage allocates for a body
	// before any of it arrived. Beyond it the buffer doubles as bytes arrive,
	// so an unauthenticated header announcing MaxFrameLen costs nothing until
	// the peer actually sends that much.
	firstReadLen = 64 << 10
)
