package manager_test

import (
	"testing"

	"github.com/wagate/wagate/core"
)

// BenchmarkSendThroughSimulator measures the throughput of one session's send queue,
// pacing off: b.N message.send commands, until WhatsApp acked the last one.
func BenchmarkSendThroughSimulator(b *testing.B) {
	h := newHarness(b)
	cfg := h.config("bench")
	cfg.Session.SendInterval = 0
	h.start(cfg, nil)
	alice := h.phone("15550001111", "Alice")
	bob := h.phone("15550002222", "Bob")
	key := h.link("main", alice).Key()
	payloads := make([]core.SendPayload, b.N)
	for i := range payloads {
		payloads[i] = h.queueMessage(key, bob.JID, "bench")
	}
	b.ResetTimer()
	for _, p := range payloads {
		h.command(core.CmdSendMessage, key, p)
	}
	// Sends are serial: the last one done means all are.
	h.waitMessage(key, payloads[len(payloads)-1].MessageID, core.MessageSent)
}
