// Package e2e tests wagate end to end through its HTTP API only: each test starts
// the local binary's Main on 127.0.0.1:0 with a temporary data folder and the
// WhatsApp simulator in process, links sessions by scanning QR codes with fake
// phones, and checks what a user would see — statuses, messages on the phones,
// receipts, the event stream, restarts, faults — plus the admin page in a real
// browser (WAGATE_E2E_BROWSER=1) and the benchmarks recorded in BENCHMARKS.md.
package e2e
