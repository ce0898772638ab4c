// Command events-consumer is the Lambda function that consumes the events queue and
// delivers each event to its session's webhook (see template.yaml). Build it for
// provided.al2023 on arm64 with `make build-lambdas`.
package main

import "github.com/wagate/wagate/functions/lambdaevents"

func main() { lambdaevents.Main() }
