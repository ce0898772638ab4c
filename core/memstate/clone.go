package memstate

import (
	"bytes"
	"slices"

	"github.com/wagate/wagate/core"
)

// The clone functions copy what a value points to, so callers never share memory
// with the store.

func cloneRecord(r core.IdempotencyRecord) core.IdempotencyRecord {
	r.Body = bytes.Clone(r.Body)
	return r
}

func cloneResult(r core.CommandResult) core.CommandResult {
	r.Data = bytes.Clone(r.Data)
	if r.Error != nil {
		e := *r.Error
		r.Error = &e
	}
	return r
}

func cloneReport(r core.Report) core.Report {
	r.Checks = slices.Clone(r.Checks)
	return r
}

func cloneHeartbeat(h core.Heartbeat) core.Heartbeat {
	if h.DiagnosticsOK != nil {
		ok := *h.DiagnosticsOK
		h.DiagnosticsOK = &ok
	}
	return h
}
