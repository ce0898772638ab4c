// Package awse2e tests the connector of the split deployment on its AWS adapters:
// the connector binary (cmd/connector) runs as child processes on DynamoDB Local and
// the SQS emulator (started by `make test`, or `scripts/emulators.sh start`), the
// WhatsApp simulator runs in the test process, and the tests drive sessions through
// the API handlers the Lambda functions run (commands over SQS, state in the state
// table). They cover linking, messages both ways, process restarts, logout, session
// leases across two processes (stop, kill, pause) and poison commands; a benchmark
// counts the DynamoDB calls per operation. The package has no code of its own.
package awse2e
