// Package e2e holds the simulator's flow tests: an unmodified whatsmeow client pairs
// with, logs in to, and exchanges messages through an in-process wasim, and each test
// checks what a user of the client would see (events, delivered texts, receipts).
package e2e
