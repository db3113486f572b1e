// Package wire implements otto protocol 2: the encrypted frames that an otto
// server and an otto client exchange over TCP, and the messages they carry.
//
// The contract is fixed by deployed 0.x peers and must interoperate with them
// byte for byte. docs/protocol.md is the full specification; this comment is
// its summary.
//
// Every message travels in one frame:
//
//	 0               4               8              20                   8+N
//	+---------------+---------------+--------------+---------------------+
//	| version       | length N      | nonce        | sealed plaintext    |
//	| uint32 BE = 2 | uint32 BE     | 12 bytes     | N-12 bytes, ending  |
//	|               |               |              | in a 16-byte tag    |
//	+---------------+---------------+--------------+---------------------+
//	                                 \_____________ ciphertext ___________/
//
//	plaintext = message type (uint32 BE) | gob body (empty for Keepalive)
//
// The ciphertext is AES-256-GCM with a random nonce and no additional data.
// The key is scrypt(PSK, empty salt, N=32768, r=8, p=1, 32 bytes). Deriving it
// costs tens of milliseconds and 32 MiB, so this package derives it once per
// PSK and caches the resulting AEAD (see KeyFor); NewKey is the uncached path.
//
// Each body is one value encoded by a fresh encoding/gob Encoder, so it starts
// with its own type definitions. gob matches struct fields by name: the
// exported field names and kinds of the message structs are the contract.
//
// ReadMessage checks a frame in a fixed order and stops at the first failure:
// header, version (ErrVersion), length (ErrFrameTooLarge, ErrShortFrame)
// before anything is allocated for the body, body, authentication (ErrAuth),
// message type (ErrUnknownType), and only then gob decoding into the concrete
// struct for that type (ErrDecode). A peer that closes the connection between
// frames yields an error that matches io.EOF.
//
// The package does no logging and keeps no state besides the key cache and
// the MaxFrameLen setting.
package wire
