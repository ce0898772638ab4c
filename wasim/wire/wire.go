// Package wire is the simulator's side of WhatsApp's transport: the "WA" connection
// header, 3-byte length-prefixed frames, the Noise_XX_25519_AESGCM_SHA256 handshake
// as responder, the certificate chain whatsmeow verifies against WACertPubKey, and
// binary node (un)marshalling of transport frames.
//
// A server accepts the websocket itself (coder/websocket, no compression) and hands
// it to Accept together with the identity whose root key the client pins:
//
//	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"web.whatsapp.com"}})
//	conn, err := wire.Accept(r.Context(), ws, rawConn, identity)
//	node, err := conn.ReadNode(ctx)
//	err = conn.WriteNode(ctx, waBinary.Node{Tag: "iq", ...})
//	err = conn.WriteNodes(ctx, queued) // several frames in one websocket message
package wire

import "time"

const (
	// HandshakeTimeout bounds the whole handshake in Accept, matching the time a
	// whatsmeow client waits for the server hello.
	HandshakeTimeout = 20 * time.Second

	// MaxMessageSize is the websocket read limit Accept sets: the largest frame
	// (2^24-1 bytes) plus its length prefix and the connection header.
	MaxMessageSize = 1<<24 + 8

	// MaxFrameSize is the largest frame payload a 3-byte length can describe.
	MaxFrameSize = 1<<24 - 1

	// MaxBatchSize bounds the websocket messages WriteNodes assembles: frames are
	// packed into one message up to this size, far below the 16 MiB a whatsmeow
	// client reads per message. A single larger frame is sent on its own.
	MaxBatchSize = 1 << 20
)
