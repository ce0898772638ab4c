// Command api-sessions is the Lambda function that serves the HTTP API routes for
// settings and sessions (see template.yaml). Build it for provided.al2023 on arm64 with
// `make build-lambdas`.
package main

import "github.com/wagate/wagate/functions/lambdaapi"

func main() { lambdaapi.Main("api-sessions") }
