package phone

import "errors"

// ErrNotImplemented was the placeholder while the package was being written. No
// method returns it any more; it stays so that code referring to it still compiles.
var ErrNotImplemented = errors.New("phone: not implemented")

// ErrNoSession is returned by Encrypt when there is no session with the recipient and
// no bundle was given to start one.
var ErrNoSession = errors.New("phone: no session with recipient")

// ErrUnknownEncType is returned by Decrypt when encType is neither "pkmsg" nor "msg".
var ErrUnknownEncType = errors.New("phone: unknown enc type")

// ErrBadPadding is returned by Decrypt when the plaintext is empty or does not end in
// whatsmeow's padding.
var ErrBadPadding = errors.New("phone: bad message padding")

// ErrAccountSignature is returned by VerifyCompanionSignature when the account
// signature in the companion's reply is not this phone's signature for that companion.
var ErrAccountSignature = errors.New("phone: account signature mismatch")

// ErrDeviceSignature is returned by VerifyCompanionSignature when the companion's
// device signature does not verify with the companion identity key.
var ErrDeviceSignature = errors.New("phone: device signature mismatch")

// ErrWrongAccountKey is returned by VerifyCompanionSignature when the reply names an
// account signature key other than this phone's identity key.
var ErrWrongAccountKey = errors.New("phone: account signature key is not this phone's identity")

// ErrInvalidLinkCode is returned by EnterLinkCode when the code is not 8 characters of
// the pairing-code alphabet (a dash in the middle is allowed).
var ErrInvalidLinkCode = errors.New("phone: invalid link code")

// ErrLinkCodeMismatch is returned by LinkCode.Finish when the key bundle cannot be
// decrypted, which is what a wrong code (or a tampered bundle) produces.
var ErrLinkCodeMismatch = errors.New("phone: key bundle does not decrypt; wrong link code")

// ErrWrongPrimary is returned by LinkCode.Finish when the decrypted key bundle names
// another primary identity key than this phone's.
var ErrWrongPrimary = errors.New("phone: key bundle names another primary identity")

// ErrMalformed is returned when an input blob has the wrong length or structure.
var ErrMalformed = errors.New("phone: malformed input")
