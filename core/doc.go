// Package core is wagate's domain: the API and wire types shared by every module
// (sessions, settings, messages, events, SQS command envelopes), the status enum, the
// error codes, input validation, and the ports (interfaces) that the HTTP handlers and
// the connector use to reach state, the bus and leases.
//
// The root package imports the standard library only. Adapters live in subpackages
// named after what they wrap: sqlite (embedded SQLite), memstate (in memory), membus
// (in-process bus), dynamo and sqsbus (AWS). The conformance suites in coretest run
// against every adapter.
package core
