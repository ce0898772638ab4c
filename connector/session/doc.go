// Package session supervises one WhatsApp session: a Supervisor owns the whatsmeow
// client of a session and one goroutine that decides every status transition
// (connecting, qr, pairing, connected, reconnecting, and the fatal outcomes), writes
// each through core.SessionStore with the holder's lease fence and publishes it as a
// session.status event. It reconnects on transient failures with the backoff
// schedule, never on fatal ones, stores incoming text messages and receipts before
// WhatsApp is acked, and drains a bounded, paced queue of outgoing messages.
//
// The whatsmeow boundary is here: whatsmeow events are translated into core types
// (Session, Message, Event) and never published as they are.
package session
