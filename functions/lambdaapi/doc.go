// Package lambdaapi runs the HTTP API of package apigw in AWS Lambda behind API
// Gateway (HTTP API, payload format 2.0, JWT authorizer).
//
// Each API function (cmd/api-sessions, cmd/api-qr, cmd/api-messages,
// cmd/api-diagnostics) is the same apigw server; the routes of template.yaml decide
// which requests reach which function, so each can be scaled, timed and observed on
// its own. A function's main calls Main with its name:
//
//   - configuration comes from the environment (see ConfigFromEnv): the state table,
//     the commands queue and the claim that names the tenant;
//   - the state is the DynamoDB state table (core/dynamo) and commands go to the SQS
//     FIFO commands queue (core/sqsbus);
//   - the tenant of a request is the JWT claim named by TENANT_CLAIM, which API
//     Gateway has already verified (JWTAuth): a request without it is 401;
//   - logs are JSON lines on stdout, and every request's log lines carry the Lambda
//     request id as request_id (it is also the X-Request-Id of the answer).
//
// Handler adapts any http.Handler to a Lambda handler, so tests feed API Gateway
// events through exactly the code that runs in AWS.
package lambdaapi
