// Package wasim is a hermetic WhatsApp simulator: a server that speaks WhatsApp's
// multi-device web protocol (Noise XX handshake, binary nodes, Signal sessions) well
// enough that an unmodified whatsmeow client can pair, log in, send and receive.
//
// Layout:
//   - wire:    the transport — WA frame header, Noise XX (server side), the certificate
//     chain whatsmeow pins, binary node framing.
//   - phone:   fake primary phones — Signal identity, prekeys and sessions (libsignal),
//     ADV signatures for pairing, the phone side of pairing by code.
//   - server:  accounts, devices, iq routing, pairing, message relay, receipts, faults
//     and the control API of DESIGN.md.
//   - simtest: starts a server in-process for tests and gives whatsmeow an HTTP client
//     that dials it.
//   - cmd/wasim: `wasim serve --addr 127.0.0.1:7070`.
package wasim
