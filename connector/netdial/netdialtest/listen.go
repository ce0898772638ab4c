package netdialtest

import (
	"net"
	"testing"
)

// ListenDualStack listens on the same TCP port on 127.0.0.1 and ::1 and closes both
// listeners when tb ends. It skips the test when IPv6 loopback is unavailable.
func ListenDualStack(tb testing.TB) (v4, v6 net.Listener, port string) {
	tb.Helper()
	for range 20 { // another process may hold the port on ::1; try a few
		l4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("listen tcp4: %v", err)
		}
		_, port, _ = net.SplitHostPort(l4.Addr().String())
		l6, err := net.Listen("tcp6", net.JoinHostPort("::1", port))
		if err == nil {
			tb.Cleanup(func() {
				_ = l4.Close()
				_ = l6.Close()
			})
			return l4, l6, port
		}
		_ = l4.Close()
	}
	tb.Skip("no loopback port free on both 127.0.0.1 and ::1 (IPv6 loopback unavailable?)")
	return nil, nil, ""
}
