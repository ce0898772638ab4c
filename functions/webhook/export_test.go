package webhook

import "net/netip"

// SetAddressPolicy replaces d's address policy, so a test can treat one loopback
// address as public and another as private.
func SetAddressPolicy(d *Deliverer, check func(netip.Addr) error) { d.checkAddr = check }
