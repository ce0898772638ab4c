// Package server is the simulated WhatsApp server: it accepts whatsmeow clients on a
// websocket (any path outside /_sim/), authenticates them by their Noise static key,
// and plays WhatsApp's part of the multi-device protocol: QR and phone-code pairing,
// login, prekey storage and bundle fetches, device lists (usync), keepalives, message
// relay between linked devices, fake primary phones that decrypt and encrypt 1:1
// messages, receipts, offline queues and injected faults.
//
// The control API under /_sim/ (see DESIGN.md, "WhatsApp simulator") drives the fake
// phones and faults; every control operation is also a method on Server for in-process
// use.
//
// In strict mode every node the server does not understand, and every message a fake
// phone cannot decrypt, is recorded as a Violation, so tests notice when the client and
// the simulator drift apart.
//
// Concurrency: accounts and devices have their own locks; there is no server-wide lock
// on the message path. Each connection has one reader goroutine and one writer
// goroutine; anything may queue a stanza for a device.
package server
