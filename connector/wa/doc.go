// Package wa is the connector's whatsmeow wrapper: the whatsmeow key store on SQLite,
// the process-wide device properties, a client factory with wagate's socket choices,
// a bridge from whatsmeow's logger to log/slog, and the JID helpers used at the
// whatsmeow boundary.
//
// whatsmeow keeps a few package globals (store.DeviceProps, store.BaseClientPayload,
// WACertPubKey). ConfigureDeviceProps sets the first two; call it once in main, before
// any client exists.
package wa
