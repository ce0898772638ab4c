// Package apigw serves wagate's HTTP API v1: sessions, QR and pairing codes, messages,
// diagnostics and the local event stream. The handlers are plain net/http written
// against the ports of core, so the same code runs in the local all-in-one binary and
// in AWS Lambda behind API Gateway (HTTP API, payload 2.0).
//
// Build a Server with its dependencies set as fields, call New to check them, and
// serve Handler:
//
//	srv, err := apigw.New(apigw.Server{State: state, Commands: bus, Auth: auth, Logger: log})
//	if err != nil { ... }
//	http.ListenAndServe(addr, srv.Handler())
//
// Every error answer is {"error":{"code","message"}} with one HTTP status per code
// (see errors.go); internal errors are logged with the request id, never returned.
package apigw
