// Package splite2e tests the split deployment end to end, every part its own
// process: the connector process (cmd/connector) and devapi (functions/cmd/devapi),
// which serves the HTTP API as API Gateway events to the Lambda handlers and runs the
// events function on the events queue, on DynamoDB Local and the SQS emulator
// (started by `make test`, or `scripts/emulators.sh start`), with the WhatsApp
// simulator and an https webhook receiver in the test process. The tests walk the
// local suite's flows through it (QR link, messages both ways with receipts, restart
// without a new QR, faults), kill the connector during a burst of sends, follow a
// failing webhook into the events dead-letter queue, and run the functions' real
// bootstraps under the AWS Lambda Runtime Interface Emulator (`make lambda-rie`). A
// benchmark measures a message's latency through the split. The package has no code
// of its own.
package splite2e
