// Package dynamo stores whatsmeow's devices and session key material in one DynamoDB
// table, for the split deployment where the connector has no trustworthy disk. It is
// the DynamoDB counterpart of whatsmeow's sqlstore and keeps its semantics (upserts,
// insert-or-ignore, cascades, ordering), noted per method where DynamoDB forces a
// different mechanism.
//
// # Table
//
// One table; hash key "pk" (S) and range key "sk" (S), on-demand billing, encrypted
// with a KMS key and reachable only by the connector's role (template.yaml). CreateTable
// makes the same schema for development and tests.
//
//	pk                 sk                                       holds
//	devices            <device AD-JID>                          the device: keys, ADV identity, names
//	dev#<device JID>   identity#<signal address>                identity key of a peer device
//	dev#<device JID>   session#<signal address>                 Signal session
//	dev#<device JID>   prekey#<id, 10 digits>                   one-time prekey
//	dev#<device JID>   pkmeta                                   next prekey id, uploaded-up-to mark
//	dev#<device JID>   senderkey#<sender address>#<group JID>   group sender key
//	dev#<device JID>   appkey#<key id hex>                      app state sync key
//	dev#<device JID>   appver#<collection>                      app state version and LT hash
//	dev#<device JID>   appmac#<collection>#<index MAC hex>#<version, 20 digits>  value MAC
//	dev#<device JID>   contact#<JID>                            contact names
//	dev#<device JID>   chatset#<JID>                            mute, pin, archive
//	dev#<device JID>   msgsecret#<chat>#<sender>#<message id>   message secret
//	dev#<device JID>   privtok#<JID>                            privacy token
//	dev#<device JID>   evbuf#<ciphertext SHA-256 hex>           decrypted event buffer
//	pn                 <phone user>                             its LID user (global LID map)
//	lid                <LID user>                               its phone user
//
// # Why this layout
//
// Everything a device owns sits in its own partition, so logging out (DeleteDevice)
// is one paginated keys-only Query plus BatchWriteItem deletes, and nothing of one
// account can be read through another's keys. Every lookup whatsmeow makes by key is
// a single GetItem, and every lookup by prefix maps to a Query on a sort key prefix:
// DeleteAllSessions and DeleteAllIdentities ("session#<phone>:"), MigratePNToLID
// (which is why sender keys start with the sender), the newest version of a mutation
// MAC (descending Query, Limit 1) and the prekeys not uploaded yet (ids above the
// mark). Devices are listed from their own partition, so GetAllDevices is a Query and
// never a Scan. The LID map has one partition per direction, so both lookups are one
// GetItem and GetManyLIDsForPNs is BatchGetItem.
//
// # Access pattern per store
//
//   - Identities, sessions, sender keys: GetItem/PutItem/DeleteItem; GetManySessions is
//     BatchGetItem (100 keys a call) and PutManySessions BatchWriteItem (25 a call),
//     retrying unprocessed entries; prefix deletes are Query plus BatchWriteItem.
//   - Prekeys: see prekeys.go; new keys are conditional puts in TransactWriteItems.
//   - App state: versions and keys by GetItem/PutItem (a key is only replaced by a newer
//     one, a conditional put); MACs by BatchWriteItem and Query.
//   - Contacts and chat settings: UpdateItem per field, TransactWriteItems of Update
//     actions for the bulk contact methods (BatchWriteItem cannot update).
//   - Message secrets: insert-or-ignore (attribute_not_exists) puts; reads BatchGetItem
//     the PN and LID forms of chat and sender.
//   - Event buffer: conditional insert, UpdateItem to clear, Query to expire.
//   - DoDecryptionTxn: see txn.go.
//
// All reads are strongly consistent. Values are B attributes. Errors and logs never
// include key material, message content or phone numbers. A value that would make an
// item exceed 400 KB fails with ErrItemTooLarge instead of being truncated.
//
// Container counts every DynamoDB call and the capacity it consumed (Stats), so that
// benchmarks can report the calls per pairing, message or reconnect.
package dynamo
