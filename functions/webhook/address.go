package webhook

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrBlocked is wrapped by delivery errors for a target whose address is not public
// (or whose scheme is not allowed).
var ErrBlocked = errors.New("webhook target not allowed")

// special is a non-public address range and why it is refused.
type special struct {
	prefix netip.Prefix
	reason string
}

// specialRanges lists the ranges that are refused beyond what netip.Addr's own
// predicates (loopback, private, link-local, multicast, unspecified) catch.
func specialRanges() []special {
	p := netip.MustParsePrefix
	return []special{
		{p("0.0.0.0/8"), "this-network range"},
		{p("100.64.0.0/10"), "carrier-grade NAT range"},
		{p("192.0.0.0/24"), "IETF protocol assignments"},
		{p("192.0.2.0/24"), "documentation range"},
		{p("198.18.0.0/15"), "benchmarking range"},
		{p("198.51.100.0/24"), "documentation range"},
		{p("203.0.113.0/24"), "documentation range"},
		{p("240.0.0.0/4"), "reserved range"},
		{p("::/96"), "IPv4-compatible range"},
		{p("64:ff9b:1::/48"), "local-use NAT64 range"},
		{p("100::/64"), "discard range"},
		{p("2001:db8::/32"), "documentation range"},
		{p("fec0::/10"), "site-local range"},
	}
}

// CheckAddr returns nil when a is a public unicast address a webhook may be sent to,
// or an error wrapping ErrBlocked that says which kind of address it is. IPv4 embedded
// in IPv6 (mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) is checked as IPv4.
func CheckAddr(a netip.Addr) error {
	if reason := blockedReason(a); reason != "" {
		return fmt.Errorf("%w: %s is a %s address", ErrBlocked, a, reason)
	}
	return nil
}

func blockedReason(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	if v4, ok := embeddedV4(a); ok {
		if r := blockedReason(v4); r != "" {
			return r + " (embedded in IPv6)"
		}
	}
	switch {
	case a == netip.MustParseAddr("169.254.169.254") || a == netip.MustParseAddr("fd00:ec2::254"):
		return "cloud metadata"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, s := range specialRanges() {
		if s.prefix.Contains(a) {
			return s.reason
		}
	}
	return ""
}

// embeddedV4 returns the IPv4 address inside a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
