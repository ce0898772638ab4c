// Package webhook delivers wagate events to the webhook URL configured in a session's
// settings.
//
// A Deliverer POSTs the event's JSON with the header
//
//	X-Wagate-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>
//
// so a receiver can check that the request comes from wagate (see Verify). Delivery
// is a single attempt with a timeout; retries belong to the caller (in AWS the events
// queue redelivers a failed event with backoff and its dead-letter queue keeps what
// keeps failing).
//
// Targets are checked again at delivery, whatever was checked when the settings were
// saved, because DNS can change in between: the scheme must be https (http only when
// Options.AllowHTTP is set), and every address the host resolves to must be public.
// Loopback, private, link-local, CGNAT, multicast, unspecified, reserved and
// documentation ranges, and the cloud metadata endpoints (169.254.169.254,
// fd00:ec2::254) are refused unless Options.AllowPrivate is set (tests, local use).
// The check happens in the dialer after resolution, and the connection goes to the
// very address that was checked (TLS still verifies the certificate for the host
// name), so a name that resolves differently between check and use cannot slip
// through. Redirects are never followed: a 3xx answer is a failed delivery. No HTTP
// proxy from the environment is used.
//
// A Notifier looks up the session of an event and delivers the event to its webhook,
// if it has one; the events function and the local binary both use it.
package webhook
