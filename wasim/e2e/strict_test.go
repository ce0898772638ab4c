package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/server"
)

func TestStrictModeReportsUnknownNodes(t *testing.T) {
	sim, l := faultSetup(t)
	ctx := ctxFor(t)

	// An iq the simulator does not implement is answered 501, so the client does not
	// hang, and recorded with its XML.
	_, err := l.cli.DangerousInternals().SendIQ(ctx, whatsmeow.DangerousInfoQuery{
		Namespace: "w:bogus",
		Type:      "get",
		To:        types.ServerJID,
		Content:   []waBinary.Node{{Tag: "nonsense", Attrs: waBinary.Attrs{"level": "11"}}},
	})
	var iqErr *whatsmeow.IQError
	if !errors.As(err, &iqErr) || iqErr.Code != 501 {
		t.Fatalf("bogus iq: err = %v, want an iq error 501", err)
	}
	// A top-level node the simulator has never heard of.
	if err := l.cli.DangerousInternals().SendNode(ctx, waBinary.Node{Tag: "bogus_node", Attrs: waBinary.Attrs{"foo": "bar"}}); err != nil {
		t.Fatalf("send bogus node: %v", err)
	}

	var got []server.Violation
	deadline := time.Now().Add(wait)
	for len(got) < 2 && time.Now().Before(deadline) {
		got = append(got, sim.Server.TakeViolations()...)
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 2 {
		t.Fatalf("violations = %v, want the bogus iq and the bogus node", got)
	}
	if !strings.Contains(got[0].XML, `xmlns="w:bogus"`) || !strings.Contains(got[0].XML, `<nonsense level="11"`) ||
		got[0].Device != l.jid.String() {
		t.Fatalf("first violation = %+v, want the bogus iq from %s", got[0], l.jid)
	}
	if !strings.Contains(got[1].XML, `<bogus_node foo="bar"`) {
		t.Fatalf("second violation = %+v, want the bogus node", got[1])
	}
}
