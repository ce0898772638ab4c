// Command api-diagnostics is the Lambda function that serves the HTTP API routes for
// diagnostics, health and the OpenAPI document (see template.yaml). Build it for provided.al2023 on arm64 with
// `make build-lambdas`.
package main

import "github.com/wagate/wagate/functions/lambdaapi"

func main() { lambdaapi.Main("api-diagnostics") }
