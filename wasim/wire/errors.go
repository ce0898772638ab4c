package wire

import "errors"

var (
	// ErrBadHeader is returned by Accept when the client's first websocket message
	// does not start with the "WA" connection header (57 41 06 03).
	ErrBadHeader = errors.New("wire: bad connection header")

	// ErrBadFrame is returned by Accept and ReadNode when the client sends something
	// that is not a well-formed frame: a text message, or an empty frame.
	ErrBadFrame = errors.New("wire: malformed frame")

	// ErrHandshake is returned by Accept when a handshake message is malformed or
	// fails to decrypt.
	ErrHandshake = errors.New("wire: handshake failed")

	// ErrDecrypt is returned by ReadNode when a transport frame fails to decrypt.
	// The read counter still advances, as it does in the client.
	ErrDecrypt = errors.New("wire: frame decryption failed")

	// ErrDecode is returned by ReadNode when a decrypted frame is not a valid binary
	// node, and by WriteNode and WriteNodes when a node cannot be encoded.
	ErrDecode = errors.New("wire: node encoding")

	// ErrFrameTooLarge is returned by WriteNode and WriteNodes when an encrypted node
	// does not fit in one frame.
	ErrFrameTooLarge = errors.New("wire: frame too large")

	// ErrEmptySeed is returned by NewIdentityFromSeed when the seed is empty.
	ErrEmptySeed = errors.New("wire: empty identity seed")
)
