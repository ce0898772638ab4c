package session

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
)

// startAttempt connects a fresh whatsmeow client: it logs in with the session's
// device, or shows QR codes for a new one. Its events are tagged with a new
// generation so events of earlier clients are told apart.
func (s *Supervisor) startAttempt() {
	s.teardowns.Wait() // never two sockets for one device
	dev, err := s.loadDevice()
	if err != nil {
		s.log.Error("session_device_load_failed", "event", "session_device_load_failed", "outcome", "fail", "error", err)
		s.scheduleRetry(retry(CodeStoreError, "the key store could not be read"))
		return
	}
	httpClient, err := s.deps.HTTPClient(s.sess.Settings)
	if err != nil {
		s.log.Error("session_network_settings_unusable", "event", "session_network_settings_unusable", "outcome", "fail", "error", err)
		s.onStop(stop(core.StatusFailed, CodeNetworkSettings, "the session's network settings are unusable: "+err.Error()))
		return
	}
	cli := wa.NewClient(dev, httpClient, s.waLog)
	cli.BackgroundEventCtx = s.ctx
	s.gen++
	gen := s.gen
	actx, cancel := context.WithCancel(s.ctx)
	returned := make(chan struct{})
	s.cli, s.cancelAttempt, s.connectReturned, s.device, s.qrShown = cli, cancel, returned, dev, false
	cli.AddEventHandlerWithSuccessStatus(func(evt any) bool { return s.handleWAEvent(cli, gen, evt) })
	if dev.ID == nil {
		ch, err := cli.GetQRChannel(actx)
		if err != nil {
			s.log.Error("session_qr_channel_failed", "event", "session_qr_channel_failed", "outcome", "fail", "error", err)
			s.scheduleRetry(retry(CodeConnectFailed, "could not start QR pairing"))
			return
		}
		s.wg.Add(1)
		go s.forwardQR(actx, gen, ch)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(returned)
		if err := cli.ConnectContext(actx); err != nil {
			s.post(connectResult{gen: gen, err: err})
		}
	}()
	s.connectTO.set(s.cfg.ConnectTimeout)
	s.log.Info("session_connecting", "event", "session_connecting", "outcome", "pending", "linked", dev.ID != nil, "attempt", s.bo.Attempt()+1)
}

// forwardQR hands the QR channel's items to the loop until the channel closes or the
// attempt ends.
func (s *Supervisor) forwardQR(ctx context.Context, gen uint64, ch <-chan whatsmeow.QRChannelItem) {
	defer s.wg.Done()
	for {
		select {
		case item, ok := <-ch:
			if !ok {
				return
			}
			s.post(qrEvent{gen: gen, item: item})
		case <-ctx.Done():
			return
		}
	}
}

// teardown drops the current client: its socket is closed in the background and its
// later events are ignored. A dial still in progress is cancelled first; a live
// socket is closed before its context is cancelled (whatsmeow's read loop must see
// the close, not the cancellation, or it races with it).
func (s *Supervisor) teardown() {
	s.connectTO.stop()
	if s.cli == nil {
		return
	}
	cli, cancel, returned := s.cli, s.cancelAttempt, s.connectReturned
	s.cli, s.cancelAttempt, s.connectReturned, s.qrShown = nil, nil, nil, false
	s.prevGen = s.gen
	s.gen++
	s.live.setClient(nil)
	s.teardowns.Add(1)
	go func() {
		defer s.teardowns.Done()
		select {
		case <-returned:
		default:
			cancel()
			<-returned
		}
		cli.Disconnect()
		cancel()
	}()
}

// loadDevice returns the device to connect with: the linked one of the session, or a
// new one to pair (also when the linked one is gone from the key store: the session
// then needs a new QR).
func (s *Supervisor) loadDevice() (*store.Device, error) {
	if s.device != nil && (s.device.ID != nil || s.sess.JID == "") {
		return s.device, nil
	}
	if s.sess.JID != "" {
		jid, err := wa.ParseDeviceJID(s.sess.JID)
		if err == nil {
			ctx, cancel := s.storeCtx()
			dev, err := s.deps.Devices.GetDevice(ctx, jid)
			cancel()
			if err != nil {
				return nil, fmt.Errorf("load device: %w", err)
			}
			if dev != nil {
				return dev, nil
			}
		}
		s.log.Warn("session_device_missing", "event", "session_device_missing", "jid", wa.MaskJID(s.sess.JID))
		s.write(func(x *core.Session) { x.JID, x.PushName = "", "" })
	}
	return s.deps.Devices.NewDevice(), nil
}

// wipeDevice forgets the session's device keys (after a logout or unlink).
func (s *Supervisor) wipeDevice() {
	ctx, cancel := s.storeCtx()
	defer cancel()
	// Never through s.device: on a logout whatsmeow deletes that same struct from its
	// own goroutine (Store.Delete after the LoggedOut event), and deleting it here too
	// races on its fields. A fresh copy from the container deletes the stored device
	// whether or not whatsmeow already did.
	s.device = nil
	if s.sess.JID == "" {
		return
	}
	if jid, err := wa.ParseDeviceJID(s.sess.JID); err == nil {
		if dev, err := s.deps.Devices.GetDevice(ctx, jid); err == nil && dev != nil {
			if err := dev.Delete(ctx); err != nil {
				s.log.Error("session_device_delete_failed", "event", "session_device_delete_failed", "outcome", "fail", "error", err)
			}
		}
	}
}

// deleteQR removes the stored QR code; failures are logged (the code expires anyway).
func (s *Supervisor) deleteQR() {
	ctx, cancel := s.storeCtx()
	defer cancel()
	if err := s.deps.QR.DeleteQR(ctx, s.key); err != nil {
		s.log.Warn("session_qr_delete_failed", "event", "session_qr_delete_failed", "outcome", "fail", "error", err)
	}
}
