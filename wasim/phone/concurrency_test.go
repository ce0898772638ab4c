package phone_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/wagate/wagate/wasim/phone"
)

func TestConcurrentConversations(t *testing.T) {
	hub := newPhone(t, "15550000000", "100000000000000")
	hubAddr := phone.AddressOf(hub.JID)
	const peers, rounds = 12, 10
	var wg sync.WaitGroup
	errs := make(chan error, peers)
	for i := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := phone.New(fmt.Sprintf("1555100%04d", i), "peer", hub.LID)
			if err != nil {
				errs <- err
				return
			}
			pAddr := phone.AddressOf(p.JID)
			for r := range rounds {
				var bundle *phone.Bundle
				if !p.HasSession(hubAddr) {
					b := hub.Bundle()
					bundle = &b
				}
				body := fmt.Sprintf("peer %d round %d", i, r)
				encType, ct, err := p.Encrypt(hubAddr, bundle, text(body))
				if err != nil {
					errs <- fmt.Errorf("peer %d encrypt: %w", i, err)
					return
				}
				m, err := hub.Decrypt(pAddr, encType, ct)
				if err != nil || m.GetConversation() != body {
					errs <- fmt.Errorf("hub decrypt from peer %d: %v %q", i, err, m.GetConversation())
					return
				}
				encType, ct, err = hub.Encrypt(pAddr, nil, text("re: "+body))
				if err != nil {
					errs <- fmt.Errorf("hub encrypt to peer %d: %w", i, err)
					return
				}
				if m, err := p.Decrypt(hubAddr, encType, ct); err != nil || m.GetConversation() != "re: "+body {
					errs <- fmt.Errorf("peer %d decrypt: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
