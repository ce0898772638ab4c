// Package dynamo implements core.State and core.LeaseStore on one DynamoDB table
// (the state table of the split deployment).
//
// # Table
//
// Key schema: pk (S, hash), sk (S, range). Billing on demand, TTL on the attribute
// ttl (epoch seconds). template.yaml must declare exactly this (see TableInput):
//
//	AttributeDefinitions: pk S, sk S, gsi1pk S, lsi1sk S, lsi2sk S
//	KeySchema:            pk HASH, sk RANGE
//	GSI gsi1:             gsi1pk HASH; projection ALL (sparse: session items only)
//	LSI lsi1:             pk HASH, lsi1sk RANGE; projection ALL (messages, newest first)
//	LSI lsi2:             pk HASH, lsi2sk RANGE; projection ALL (messages by direction)
//	TimeToLiveSpecification: ttl, enabled
//
// Local indexes exist only if the table is created with them. They limit the items
// of one pk (one session's messages and QR) to 10 GB.
//
// Items (every item also has doc, the JSON of the core type, except markers):
//
//	item           pk                       sk             other attributes
//	session        t#<tenant>               s#<session>    gsi1pk=t#<tenant>#s#<session>, ver, fence, desired
//	QR code        t#<tenant>#s#<session>   qr             exp, ttl
//	message        t#<tenant>#s#<session>   m#<id>         lsi1sk=m#<time>#<id>, lsi2sk=<in|out>#<time>#<id>, ver
//	result marker  t#<tenant>#s#<session>   r#<command>    ttl
//	result         t#<tenant>#r#<command>   result         ttl (a week)
//	idempotency    t#<tenant>#i#<key>       idem           exp, ttl
//	lease          t#<tenant>#l#<session>   lease          owner, fence, ver, until, dur (no doc)
//	heartbeat      hb                       c#<connector>  at, ttl (a day)
//	diagnostics    diag                     latest
//
// <tenant> has '%' and '#' percent-encoded, so no tenant can forge another's keys.
// <time> is CreatedAt in unix nanoseconds with the sign bit flipped, as 20 digits,
// so string order is time order. exp, until and at are unix nanoseconds. TTL
// deletion lags (up to days), so reads and conditions on QR codes and idempotency
// records compare exp with Now themselves; ttl only reclaims space. Items stay far below the 400 KB limit (a message text is at most
// 4,096 characters).
//
// # Access patterns
//
// Calls and capacity per operation, uncontended, for items up to 1 KB (1 WCU per
// KB written to the table and to each index holding the item; 1 RCU per 4 KB read
// with strong consistency; transactional writes cost double):
//
//	CreateSession      PutItem if attribute_not_exists(pk)                   2 WCU (item + gsi1)
//	GetSession         GetItem, consistent                                   1 RCU
//	ListSessions       Query pk=t#<tenant>, begins_with(sk,"s#"), consistent  1 RCU per 4 KB of the tenant's sessions
//	ListAllSessions    Scan gsi1 (eventually consistent), one call per MB    0.5 RCU per 4 KB of all sessions
//	UpdateSession      GetItem + PutItem if ver=:read AND fence<=:new        1 RCU + 2 WCU; a lost race costs one more PutItem
//	DeleteSession      GetItem, Query of the session partition (keys only)  1 RCU + 1 RCU per 4 KB of keys
//	                   per MB, BatchWriteItem per 25 items, DeleteItem       + 1 WCU per item (3 per message)
//	PutQR / DeleteQR   PutItem / DeleteItem                                  1 WCU
//	GetQR              GetItem                                               1 RCU
//	PutMessage         PutItem if attribute_not_exists(pk)                   3 WCU (item + lsi1 + lsi2)
//	GetMessage         GetItem                                               1 RCU
//	UpdateMessage      GetItem + PutItem if ver=:read                        1 RCU + 3 WCU
//	ListMessages       Query lsi1 (or lsi2 with begins_with(lsi2sk,"in#")),  1 RCU per 4 KB read: about 13 RCU
//	                   backwards, Limit = page size + 1, consistent; another  for a page of 50 small messages
//	                   Query only when a page passes 1 MB
//	PutIdempotency     PutItem if attribute_not_exists(pk) OR exp<=:now,     1 WCU (won or lost)
//	                   returning the live item when the condition fails
//	DeleteIdempotency  DeleteItem                                            1 WCU
//	PutResult          TransactWriteItems (result + marker) for a session,   4 WCU / 1 WCU
//	                   PutItem otherwise
//	GetResult          GetItem                                               1 RCU
//	PutReport          PutItem over diag/latest                              1-2 WCU
//	LatestReport       GetItem                                               1 RCU
//	PutHeartbeat       PutItem over hb/c#<connector>                         1 WCU
//	ListHeartbeats     Query pk=hb, filter at>=:since, consistent            1 RCU per 4 KB of connectors seen in a day
//	ReadLease          GetItem                                               1 RCU
//	TakeLease          UpdateItem if attribute_not_exists(pk) (expect 0)     1 WCU
//	                   or ver=:expect; fence and ver incremented
//	RenewLease         UpdateItem if owner=:me AND fence=:fence              1 WCU
//	ReleaseLease       UpdateItem if owner=:me AND fence=:fence, REMOVE owner 1 WCU
//
// Message pages use opaque cursors: base64url of "<unix nanos>:<id>" of the last
// message of the page, turned back into an ExclusiveStartKey of the index queried.
//
// Concurrency: sessions and messages carry a version (ver) and every write is
// conditional on the version read; a lost condition returns the current item
// (ReturnValuesOnConditionCheckFailure ALL_OLD), so a retry needs no extra read.
// UpdateSession also requires the stored fence not to exceed the new one, so a
// connector that lost its lease can never overwrite the new holder's state.
//
// Hot keys: a tenant's sessions share the partition t#<tenant> (about one write per
// status change); heartbeats and the diagnostics report use one partition each and
// are written every few seconds at most.
package dynamo
