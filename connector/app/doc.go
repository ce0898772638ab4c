// Package app is the local all-in-one wagate process behind cmd/wagate: one Main
// serves the HTTP API v1 and the admin page, runs the connector (every WhatsApp
// session) on an in-process bus, and keeps state and whatsmeow keys in SQLite under
// the data folder. Config is read from the environment once (FromEnv), validated as
// a whole, and overridable field by field in tests, which run Main on 127.0.0.1:0.
package app
