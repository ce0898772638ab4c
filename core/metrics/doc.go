// Package metrics records wagate's operational metrics in CloudWatch's Embedded
// Metric Format (EMF): JSON lines written to standard output, which CloudWatch Logs
// turns into metrics of the namespace Wagate without any API call or agent.
//
// The connector and the functions record through the small Emitter interface
// (Count, Duration). EMF is the implementation for AWS (and for local runs with
// WAGATE_METRICS=emf); Nop discards everything and is the default. Recorder parses
// and validates emitted lines for tests.
//
// Every metric name, its unit and its dimension keys are declared in names.go:
// dashboards, alarms and the runbook refer to those names, and a test checks the
// deployment template against them. Dimensions are low-cardinality by rule: a
// session id never becomes a dimension (it goes in the log line instead).
//
// The package imports the standard library only.
package metrics
