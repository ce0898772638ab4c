package apigw_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// testQR is shaped like a WhatsApp pairing QR: ref, noise key, identity key, ADV secret.
const testQR = "2@Yb3K8pQm1xZt7VhR2nLwE9sJcD4fGuA6oMiTqN0yB5eXkHvUgWzPlOrIaSd,bXlOb2lzZUtleUJhc2U2NEVuY29kZWRUZXN0MTIzNDU2Nzg5MA==,aWRlbnRpdHlLZXlCYXNlNjRFbmNvZGVkVGVzdDEyMzQ1Njc4OQ==,YWR2U2VjcmV0QmFzZTY0RW5jb2RlZFRlc3QxMjM0NTY3ODkwMTI="

// connector plays the connector side over the real bus and store: it writes
// heartbeats, consumes commands and writes the results a caller waits for.
type connector struct {
	e *env
	// holdPairCode, when set, delays pair-code results until it is closed.
	holdPairCode chan struct{}

	mu   sync.Mutex
	seen []core.Command
}

// startConnector runs a connector until the test ends.
func (e *env) startConnector(t testing.TB) *connector {
	t.Helper()
	c := &connector{e: e}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	e.heartbeat(time.Now())
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				_ = e.state.PutHeartbeat(ctx, core.Heartbeat{ConnectorID: "test-connector", Version: "test", Sessions: 1, At: time.Now()})
			}
		}
	}()
	go func() {
		defer wg.Done()
		_ = e.bus.ConsumeCommands(ctx, c.handle)
	}()
	return c
}

func (c *connector) commands(typ core.CommandType) []core.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []core.Command
	for _, cmd := range c.seen {
		if cmd.Type == typ {
			out = append(out, cmd)
		}
	}
	return out
}

func (c *connector) handle(ctx context.Context, cmd core.Command) error {
	c.mu.Lock()
	c.seen = append(c.seen, cmd)
	c.mu.Unlock()
	st := c.e.state
	switch cmd.Type {
	case core.CmdConnect:
		if _, err := st.UpdateSession(ctx, cmd.Key(), func(s *core.Session) error {
			s.Status = core.StatusQR
			return nil
		}); err != nil {
			return err
		}
		return st.PutQR(ctx, cmd.Key(), core.QR{Code: testQR, ExpiresAt: time.Now().Add(time.Minute)})
	case core.CmdPairCode:
		if c.holdPairCode != nil {
			select {
			case <-c.holdPairCode:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var p core.PairCodePayload
		if err := cmd.DecodePayload(&p); err != nil {
			return err
		}
		res := core.CommandResult{CommandID: cmd.ID, Tenant: cmd.Tenant, SessionID: cmd.SessionID, Type: cmd.Type, At: time.Now()}
		if p.Phone == "15550009999" { // a number the simulated phone rejects
			res.Error = &core.ErrorInfo{Code: string(core.CodeRateLimited), Message: "too many pairing attempts; wait a minute", At: time.Now()}
		} else {
			res.Data, _ = json.Marshal(core.PairCodeResult{Code: "ABCD-EFGH"})
		}
		return st.PutResult(ctx, res)
	case core.CmdDiagnostics:
		now := time.Now().UTC()
		rep := core.Report{ID: cmd.ID, Connector: "test-connector", Reason: "request", StartedAt: now, FinishedAt: now, OK: true,
			Checks: []core.Check{{Kind: core.CheckDNSA, Target: "web.whatsapp.com", Outcome: core.OutcomeOK, Address: "127.0.0.1", DurationMS: 1.5}}}
		if err := st.PutReport(ctx, rep); err != nil {
			return err
		}
		data, _ := json.Marshal(rep)
		return st.PutResult(ctx, core.CommandResult{CommandID: cmd.ID, Tenant: cmd.Tenant, Type: cmd.Type, Data: data, At: now})
	case core.CmdSendMessage:
		var p core.SendPayload
		if err := cmd.DecodePayload(&p); err != nil {
			return err
		}
		_, err := st.UpdateMessage(ctx, cmd.Key(), p.MessageID, func(m *core.Message) error {
			m.Status = core.MessageSent
			return nil
		})
		return err
	}
	return nil
}
