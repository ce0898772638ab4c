package bench

import (
	"flag"
	"time"
)

// Workload sizes. The defaults keep `make bench` within a few minutes on a 2-core
// machine; pass larger values after -args to push further, e.g.
//
//	go test -run '^$' -bench ConnectedDevices -benchtime 1x ./bench -args -wasim.devices=3000
var (
	flagClients    = flag.Int("wasim.clients", 32, "whatsmeow clients linked and sending concurrently")
	flagClientMsgs = flag.Int("wasim.client-msgs", 100, "texts each whatsmeow client sends, and receives, in one run")
	flagRawDevices = flag.Int("wasim.raw-devices", 200, "raw devices relaying to each other in the relay benchmark")
	flagRelayMsgs  = flag.Int("wasim.relay-msgs", 250, "messages each raw device relays in the relay benchmark")
	flagWindow     = flag.Int("wasim.window", 16, "messages a raw device keeps in flight (sent, no receipt yet)")
	flagPhoneMsgs  = flag.Int("wasim.phone-msgs", 3000, "texts fake phones send to raw devices through the control API")
	flagDevices    = flag.Int("wasim.devices", 1000, "devices linked and held connected at once")
	flagHold       = flag.Duration("wasim.hold", 20*time.Second, "how long the connected devices are held")
	flagPing       = flag.Duration("wasim.ping", 2*time.Second, "keepalive interval of each held device (whatsmeow: 20-30 s)")
)
