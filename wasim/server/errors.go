package server

import "errors"

var (
	// ErrInvalid is returned by control operations whose input is malformed: a phone
	// number that is not 7–15 digits, a QR code without its four fields, an unknown
	// fault kind. The control API answers 400.
	ErrInvalid = errors.New("invalid request")

	// ErrNotFound is returned when the named phone, device, waiting registration or
	// message does not exist. The control API answers 404.
	ErrNotFound = errors.New("not found")

	// ErrConflict is returned when the request contradicts the current state: a phone
	// that exists with another name, a device that refused pairing, a fault that needs
	// a live connection on an offline device. The control API answers 409.
	ErrConflict = errors.New("conflict")

	// ErrTimeout is returned when the client did not answer in time, for example a
	// pair-success it never confirmed. The control API answers 504.
	ErrTimeout = errors.New("client did not answer in time")

	// ErrClosed is returned by operations on a server that has been closed.
	ErrClosed = errors.New("server closed")
)
