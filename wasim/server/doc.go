// Package server is the simulated WhatsApp server: it accepts whatsmeow clients on a
// websocket (any path outside /_sim/), authenticates them by their Noise static key,
// and plays WhatsApp's part of the multi-device protocol: QR and phone-code pairing,
// login, prekey storage and bundle fetches, device lists (usync), keepalives, message
// relay between linked devices, fake primary phones that decrypt and encrypt 1:1
// messages, receipts, offline queues and injected faults.
//
// The control API under /_sim/ (see DESIGN.md, "WhatsApp simulator") drives the fake
// phones and faults; every control operation is also a method on Server for in-process
// use. Bodies are JSON; unknown fields are rejected. Errors are
// {"error":{"code","message"}} with 400 invalid, 404 not_found, 405
// method_not_allowed, 409 conflict or 504 timeout.
//
//	GET  /_sim/health                      200 {"status":"ok"}
//	GET  /_sim/cert                        {"publicKey": base64 root key}
//	POST /_sim/phones {"phone","name"}     201 {"phone","name","jid","lid"}; 200 when it exists
//	                                       with the same name (idempotent), 409 with another
//	GET  /_sim/phones                      {"phones":[…]}                              (extension)
//	POST /_sim/phones/{phone}/scan {"qr"}  200 {"jid","lid","phone","connected","preKeys","keepalives"}
//	POST /_sim/phones/{phone}/link-code {"code"}   200, same body as scan
//	POST /_sim/phones/{phone}/messages {"to","text"}  200 {"id"}
//	GET  /_sim/phones/{phone}/messages     {"messages":[{"id","from","fromJid","text","at","enc"}]}
//	GET  /_sim/phones/{phone}/sent         {"messages":[{"id","to","text","at","receipts":[{"from","type","at"}]}]}
//	POST /_sim/phones/{phone}/receipts {"messageId","type":"delivered|read"}
//	GET  /_sim/devices                     {"devices":[{"jid","lid","phone","connected","preKeys","keepalives"}]}
//	POST /_sim/devices/{jid}/faults {"kind","seconds","millis"}
//	GET  /_sim/violations                  {"strict", "violations":[{"at","device","reason","xml"}]} (extension)
//
// A phone's message goes to every linked device of the recipient and into the
// recipient phone's inbox; the sender's own linked devices get a DeviceSentMessage
// copy. Stanzas for a device are queued until it acknowledges them and re-sent on its
// next login, followed by <ib><offline count/></ib>.
//
// In strict mode every node the server does not understand, and every message a fake
// phone cannot decrypt, is recorded as a Violation, so tests notice when the client and
// the simulator drift apart.
//
// Concurrency: accounts and devices have their own locks; there is no server-wide lock
// on the message path. Each connection has one reader goroutine and one writer
// goroutine; anything may queue a stanza for a device, and the writer sends what is
// queued together, as consecutive frames in one websocket message. A fake phone
// decrypts what clients send it on a goroutine of its account that runs while there
// is work, in arrival order, after the sender's ack is queued; reading a phone's inbox
// or the violations waits for the decryptions queued before the read.
package server
