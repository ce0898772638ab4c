package server

import (
	"strconv"
	"testing"
)

// A phone lists a resent message once, as WhatsApp clients do, and counts the copies.
func TestInboxListsAResentMessageOnce(t *testing.T) {
	a := &account{}
	a.addInbox(InboxMessage{ID: "3EB0AA", From: "15550001111", Text: "hi"})
	a.addInbox(InboxMessage{ID: "3EB0AA", From: "15550001111", Text: "hi"})
	a.addInbox(InboxMessage{ID: "3EB0AA", From: "15550003333", Text: "same id, other sender"})
	got := a.inboxCopy()
	if len(got) != 2 {
		t.Fatalf("inbox has %d messages, want 2: %+v", len(got), got)
	}
	if got[0].Copies != 2 || got[1].Copies != 1 {
		t.Errorf("copies = %d and %d, want 2 and 1", got[0].Copies, got[1].Copies)
	}
}

// Trimming the oldest messages keeps duplicates of the kept ones detected.
func TestInboxTrimKeepsTheIndex(t *testing.T) {
	a := &account{}
	n := maxInbox + maxInbox/10 + 5
	for i := range n {
		a.addInbox(InboxMessage{ID: strconv.Itoa(i), From: "1"})
	}
	kept := len(a.inboxCopy())
	if kept < maxInbox || kept > maxInbox+maxInbox/10 {
		t.Fatalf("inbox keeps %d messages, want %d to %d", kept, maxInbox, maxInbox+maxInbox/10)
	}
	last := strconv.Itoa(n - 1)
	a.addInbox(InboxMessage{ID: last, From: "1"})
	m, ok := a.inboxByID(last)
	if !ok || m.Copies != 2 || len(a.inboxCopy()) != kept {
		t.Errorf("resent newest message: %+v (found %v), inbox %d, want %d", m, ok, len(a.inboxCopy()), kept)
	}
	a.addInbox(InboxMessage{ID: "0", From: "1"}) // trimmed long ago: listed again
	if m, _ := a.inboxByID("0"); m.Copies != 1 {
		t.Errorf("a trimmed id came back with copies %d, want 1", m.Copies)
	}
}
