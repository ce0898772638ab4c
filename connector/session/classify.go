package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// action is what the supervisor does about a whatsmeow connection event.
type action int

const (
	actIgnore    action = iota // nothing changes
	actConnected               // logged in: status connected
	actPaired                  // the phone linked the device: wait for the login
	actRetry                   // transient: reconnect with backoff
	actStop                    // fatal: stop, no reconnect
	actBanned                  // fatal until RetryAfter, then reconnect
)

// The lastError codes a supervisor writes.
const (
	CodeDisconnected     = "disconnected"      // the socket closed unexpectedly
	CodeKeepAliveTimeout = "keepalive_timeout" // WhatsApp stopped answering keepalives
	CodeStreamError      = "stream_error"      // WhatsApp sent an unknown stream error
	CodeConnectFailed    = "connect_failed"    // dial, DNS, TLS or handshake failed
	CodeConnectTimeout   = "connect_timeout"   // no login (or QR) within ConnectTimeout
	CodeServerError      = "server_error"      // WhatsApp answered 5xx
	CodeLoggedOut        = "logged_out"        // the phone unlinked the device
	CodeReplaced         = "stream_replaced"   // another client took the session over
	CodeOutdated         = "client_outdated"   // WhatsApp rejected the client version (405)
	CodeBanned           = "temporary_ban"     // the account is banned until retryAt
	CodeConnectFailure   = "connect_failure"   // WhatsApp refused the login with another reason
	CodePairFailed       = "pair_failed"       // the link could not be completed
	CodeQRTimeout        = "qr_timeout"        // no QR code was scanned in time
	CodeLogout           = "logout_requested"  // a user logged the session out
	CodeNetworkSettings  = "network_settings"  // the session's proxy or dial settings are unusable
	CodeStoreError       = "store_error"       // the key store could not be read
	CodeShutdown         = "connector_shutdown"
)

// outcome is the classification of one event.
type outcome struct {
	action     action
	status     core.Status
	code       string
	message    string
	retryAfter time.Duration // actBanned: when the ban ends
	wipe       bool          // the device was unlinked: forget its keys and JID
}

func retry(code, message string) outcome {
	return outcome{action: actRetry, status: core.StatusReconnecting, code: code, message: message}
}

func stop(status core.Status, code, message string) outcome {
	return outcome{action: actStop, status: status, code: code, message: message}
}

// classify maps a whatsmeow connection event to what the supervisor does. A
// KeepAliveTimeout counts only once keepAliveFailures keepalives in a row failed.
func classify(evt any, keepAliveFailures int) outcome {
	switch e := evt.(type) {
	case *events.Connected:
		return outcome{action: actConnected, status: core.StatusConnected}
	case *events.PairSuccess:
		return outcome{action: actPaired, status: core.StatusConnecting}
	case *events.Disconnected:
		return retry(CodeDisconnected, "the connection to WhatsApp closed")
	case *events.KeepAliveTimeout:
		if e.ErrorCount < keepAliveFailures {
			return outcome{action: actIgnore}
		}
		return retry(CodeKeepAliveTimeout, fmt.Sprintf("WhatsApp did not answer %d keepalives in a row", e.ErrorCount))
	case *events.StreamError:
		return retry(CodeStreamError, fmt.Sprintf("WhatsApp sent stream error %q", e.Code))
	case *events.ConnectFailure:
		return classifyFailure(e.Reason, e.Message)
	case *events.LoggedOut:
		msg := "the device was removed on the phone; link it again with a new QR code"
		if e.OnConnect {
			msg = fmt.Sprintf("WhatsApp logged the device out (%d: %s); link it again with a new QR code", int(e.Reason), e.Reason)
		}
		o := stop(core.StatusLoggedOut, CodeLoggedOut, msg)
		o.wipe = true
		return o
	case *events.StreamReplaced:
		return stop(core.StatusReplaced, CodeReplaced, "another client connected with this session; wagate does not reconnect to avoid fighting it")
	case *events.ClientOutdated:
		return stop(core.StatusOutdated, CodeOutdated, "WhatsApp rejected this client version (405); update wagate")
	case *events.TemporaryBan:
		return outcome{action: actBanned, status: core.StatusBanned, code: CodeBanned,
			message: fmt.Sprintf("the account is temporarily banned: %s", e.Code), retryAfter: e.Expire}
	case *events.PairError:
		return stop(core.StatusDisconnected, CodePairFailed, "the phone could not link the device; try again with a new QR code")
	}
	return outcome{action: actIgnore}
}

// classifyFailure maps a <failure> reason of the login.
func classifyFailure(reason events.ConnectFailureReason, message string) outcome {
	switch {
	case reason.IsLoggedOut():
		o := stop(core.StatusLoggedOut, CodeLoggedOut, fmt.Sprintf("WhatsApp logged the device out (%d)", int(reason)))
		o.wipe = true
		return o
	case reason == events.ConnectFailureClientOutdated:
		return classify(&events.ClientOutdated{}, 0)
	case reason >= 500 && reason < 600:
		return retry(CodeServerError, fmt.Sprintf("WhatsApp answered %d", int(reason)))
	}
	msg := fmt.Sprintf("WhatsApp refused the login (%d)", int(reason))
	if message != "" {
		msg += ": " + message
	}
	return stop(core.StatusFailed, CodeConnectFailure, msg)
}

// classifyConnectError maps an error of Client.ConnectContext: every dial, HTTP,
// TLS or handshake failure is transient. ErrAlreadyConnected is ignored.
func classifyConnectError(err error) outcome {
	var status socket.ErrWithStatusCode
	var netErr net.Error
	switch {
	case err == nil, errors.Is(err, whatsmeow.ErrAlreadyConnected):
		return outcome{action: actIgnore}
	case errors.As(err, &status) && status.StatusCode >= 500:
		return retry(CodeServerError, fmt.Sprintf("WhatsApp answered HTTP %d to the connect", status.StatusCode))
	case errors.As(err, &status):
		return retry(CodeConnectFailed, fmt.Sprintf("WhatsApp answered HTTP %d to the connect", status.StatusCode))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return retry(CodeConnectTimeout, "connecting to WhatsApp timed out")
	}
	return retry(CodeConnectFailed, "could not connect to WhatsApp: "+wa.Redact(err.Error()))
}
