package webhook_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/wagate/wagate/functions/webhook"
)

func TestCheckAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "::1", // loopback
		"10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1", // private
		"169.254.169.254", "fd00:ec2::254", // metadata
		"169.254.1.1", "fe80::1", "fe80::1%eth0", // link-local
		"100.64.0.1", "100.127.255.254", "100.100.100.200", // CGNAT
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", // multicast
		"0.0.0.0", "0.1.2.3", "::", // unspecified, this network
		"255.255.255.255", "240.0.0.1", // reserved, broadcast
		"192.0.2.10", "198.51.100.7", "203.0.113.9", "2001:db8::1", // documentation
		"198.18.0.1", "192.0.0.8", "100::1", "fec0::1", // benchmarking, IETF, discard, site-local
		"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", // IPv4-mapped
		"64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "2002:a00:1::1", "2002:7f00:1::", "::127.0.0.1", // embedded IPv4
	}
	for _, s := range blocked {
		err := webhook.CheckAddr(netip.MustParseAddr(s))
		if !errors.Is(err, webhook.ErrBlocked) {
			t.Errorf("CheckAddr(%s) = %v, want ErrBlocked", s, err)
		}
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "52.95.110.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "169.253.255.255",
		"2606:4700:4700::1111", "2a03:2880:f12c:83:face:b00c:0:25de", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range public {
		if err := webhook.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckAddr(%s) = %v, want nil", s, err)
		}
	}
	if err := webhook.CheckAddr(netip.Addr{}); !errors.Is(err, webhook.ErrBlocked) {
		t.Errorf("CheckAddr(zero) = %v, want ErrBlocked", err)
	}
}

func TestCheckAddrSaysWhy(t *testing.T) {
	cases := map[string]string{
		"169.254.169.254": "cloud metadata",
		"fd00:ec2::254":   "cloud metadata",
		"100.64.0.1":      "carrier-grade NAT",
		"10.0.0.1":        "private",
		"::1":             "loopback",
	}
	for addr, want := range cases {
		err := webhook.CheckAddr(netip.MustParseAddr(addr))
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("CheckAddr(%s) = %v, want it to say %q", addr, err, want)
		}
	}
}
