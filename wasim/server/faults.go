package server

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/types"
)

// Fault kinds accepted by InjectFault and the control API.
const (
	FaultStreamReplaced     = "stream_replaced"     // <stream:error><conflict type="replaced"/>, then close
	FaultDeviceRemoved      = "device_removed"      // <stream:error code="401"><conflict type="device_removed"/>, unlink, close
	FaultTempBan            = "temp_ban"            // close; logins fail with 402 (code 101) for Seconds
	FaultServiceUnavailable = "service_unavailable" // close; logins fail with 503 for Seconds
	FaultClientOutdated     = "client_outdated"     // close; logins fail with 405 for Seconds (0: until restart)
	FaultDrop               = "drop"                // cut the TCP connection without a close frame
	FaultStall              = "stall"               // write nothing on the connection for Seconds
	FaultLatency            = "latency"             // delay every frame to the device by Millis, for Seconds
)

var knownFaults = map[string]bool{
	FaultStreamReplaced: true, FaultDeviceRemoved: true, FaultTempBan: true, FaultServiceUnavailable: true,
	FaultClientOutdated: true, FaultDrop: true, FaultStall: true, FaultLatency: true,
}

// Fault is a fault to inject on one device.
type Fault struct {
	Kind    string `json:"kind"`
	Seconds int    `json:"seconds,omitempty"`
	Millis  int    `json:"millis,omitempty"`
}

// tempBanCode is the temp-ban reason code sent with a 402 failure.
const tempBanCode = "101"

// foreverSeconds stands for "until the simulator restarts".
const foreverSeconds = 100 * 365 * 24 * 3600

// InjectFault injects a fault on the device named by its JID.
//
// Errors: ErrInvalid for a malformed JID, an unknown kind or a missing duration,
// ErrNotFound for an unknown device, ErrConflict when the fault needs a live
// connection (stream_replaced, drop, stall) and the device has none.
func (s *Server) InjectFault(ctx context.Context, jid string, f Fault) error {
	if !knownFaults[f.Kind] {
		return fmt.Errorf("fault: unknown kind %q: %w", f.Kind, ErrInvalid)
	}
	if f.Seconds < 0 || f.Millis < 0 {
		return fmt.Errorf("fault: durations must not be negative: %w", ErrInvalid)
	}
	parsed, err := types.ParseJID(jid)
	if err != nil || parsed.Device == 0 ||
		(parsed.Server != types.DefaultUserServer && parsed.Server != types.HiddenUserServer) {
		return fmt.Errorf("fault: %q is not a device JID (number:device@s.whatsapp.net): %w", jid, ErrInvalid)
	}
	d := s.deviceFor(parsed)
	if d == nil || d.isRemoved() {
		return fmt.Errorf("fault: device %s: %w", jid, ErrNotFound)
	}
	needSeconds := func() error {
		if f.Seconds <= 0 {
			return fmt.Errorf("fault: %s needs seconds > 0: %w", f.Kind, ErrInvalid)
		}
		return nil
	}
	c := d.liveConn()
	needConn := func() error {
		if c == nil {
			return fmt.Errorf("fault: %s needs a connected device: %w", f.Kind, ErrConflict)
		}
		return nil
	}
	now := s.now()
	until := now.Add(time.Duration(f.Seconds) * time.Second)
	switch f.Kind {
	case FaultStreamReplaced:
		if err := needConn(); err != nil {
			return err
		}
		s.goBackground(func() { c.closeWith(streamErrorReplaced()) })
	case FaultDeviceRemoved:
		s.unlink(d)
		if c != nil {
			s.goBackground(func() { c.closeWith(streamErrorDeviceRemoved()) })
		}
	case FaultTempBan, FaultServiceUnavailable, FaultClientOutdated:
		if f.Kind == FaultClientOutdated && f.Seconds == 0 {
			until = now.Add(foreverSeconds * time.Second)
		} else if err := needSeconds(); err != nil {
			return err
		}
		b := &loginBlock{until: until}
		switch f.Kind {
		case FaultTempBan:
			b.reason, b.code = "402", tempBanCode
		case FaultServiceUnavailable:
			b.reason = "503"
		default:
			b.reason = "405"
		}
		d.mu.Lock()
		d.block = b
		d.mu.Unlock()
		if c != nil {
			s.goBackground(c.close)
		}
	case FaultDrop:
		if err := needConn(); err != nil {
			return err
		}
		c.drop()
	case FaultStall:
		if err := needSeconds(); err != nil {
			return err
		}
		if err := needConn(); err != nil {
			return err
		}
		c.stallUntil.Store(time.Now().Add(time.Duration(f.Seconds) * time.Second).UnixNano())
	case FaultLatency:
		if err := needSeconds(); err != nil {
			return err
		}
		if f.Millis <= 0 {
			return fmt.Errorf("fault: latency needs millis > 0: %w", ErrInvalid)
		}
		d.mu.Lock()
		d.latency = time.Duration(f.Millis) * time.Millisecond
		d.latencyTo = until
		d.mu.Unlock()
		d.latencySet.Store(true)
	default:
		return fmt.Errorf("fault: unknown kind %q: %w", f.Kind, ErrInvalid)
	}
	s.log.Info("fault_injected", "device", d.jid.String(), "kind", f.Kind, "seconds", f.Seconds, "millis", f.Millis)
	return nil
}
