package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/wasim/simtest"
)

func TestMain(m *testing.M) {
	whatsmeow.WACertPubKey = simtest.RootKey()
	os.Exit(m.Run())
}

// lines hands the program's output lines to the test as they are printed.
type lines struct {
	ch chan string
}

func newLines(r io.Reader) *lines {
	l := &lines{ch: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.ch <- sc.Text()
		}
		close(l.ch)
	}()
	return l
}

// next returns the next line matching re, failing the test after 30 s.
func (l *lines) next(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("output ended without a line matching %q; saw %q", re, seen)
			}
			seen = append(seen, line)
			if m := rx.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %q within 30 s; saw %q", re, seen)
		}
	}
}

func TestSessionLinksSendsReceivesAndPrintsReceipts(t *testing.T) {
	sim := simtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for number, name := range map[string]string{"15550001111": "Alice", "15550002222": "Bob"} {
		if _, err := sim.Control.CreatePhone(ctx, number, name); err != nil {
			t.Fatal(err)
		}
	}
	pr, pw := io.Pipe()
	out := newLines(pr)
	m := &Main{
		Sim: sim.Addr, To: "15550002222", Text: "hello, Bob", Wait: time.Minute, Out: pw,
		Log: slog.New(slog.DiscardHandler),
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx); _ = pw.Close() }()

	qr := out.next(t, `^QR: (2@\S+)$`)[1]
	dev, err := sim.Control.Scan(ctx, "15550001111", qr)
	if err != nil {
		t.Fatal(err)
	}
	out.next(t, `^CONNECTED jid=`+regexp.QuoteMeta(dev.JID)+`$`)
	sentID := out.next(t, `^SENT id=(\S+) to=15550002222@s\.whatsapp\.net$`)[1]
	inbox, err := sim.Control.Messages(ctx, "15550002222")
	if err != nil || len(inbox) != 1 || inbox[0].ID != sentID || inbox[0].Text != "hello, Bob" {
		t.Fatalf("Bob's inbox = %+v (%v), want the text %q as %s", inbox, err, "hello, Bob", sentID)
	}

	replyID, err := sim.Control.SendMessage(ctx, "15550002222", "15550001111", `hi "Alice"`)
	if err != nil {
		t.Fatal(err)
	}
	out.next(t, `^RECV from=15550002222@s\.whatsapp\.net id=`+replyID+` text="hi \\"Alice\\""$`)
	for _, kind := range []string{"delivered", "read"} {
		if err := sim.Control.Receipt(ctx, "15550002222", sentID, kind); err != nil {
			t.Fatal(err)
		}
		out.next(t, fmt.Sprintf(`^RECEIPT id=%s type=%s from=15550002222@s\.whatsapp\.net$`, sentID, kind))
	}

	// The client acks each receipt after printing it: stopping it before those acks
	// are out would close its socket mid-send (a data race inside whatsmeow).
	jid, err := types.ParseJID(dev.JID)
	if err != nil {
		t.Fatal(err)
	}
	simtest.Quiesce(sim, jid, 5*time.Second)
	stop()
	out.next(t, `^EXIT reason=signal$`)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil after a clean stop", err)
	}
}

func TestFlagsRejectUnsupportedStore(t *testing.T) {
	var stderr strings.Builder
	err := run(context.Background(), []string{"-store", "sqlite:x.db"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), "only the in-memory store") {
		t.Fatalf("run with -store sqlite = %v, want an in-memory-only error", err)
	}
}
