package coretest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// sampleMessage returns a message of session key with every field set.
func sampleMessage(key core.SessionKey, id string, dir core.Direction, at time.Time) core.Message {
	m := core.Message{
		ID: id, Tenant: key.Tenant, SessionID: key.ID, Direction: dir,
		Chat: "15550002222@s.whatsapp.net", Text: "héllo 👋 " + id, Status: core.MessageDelivered,
		CreatedAt: at, UpdatedAt: at,
	}
	if dir == core.DirectionOut {
		m.To, m.Status = m.Chat, core.MessageQueued
	} else {
		m.From = m.Chat
	}
	return m
}

func runMessages(t *testing.T, newState NewStateFunc) {
	t.Run("put_get", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
		m := sampleMessage(key, core.NewMessageID(), core.DirectionOut, now())
		m.Error = "none yet"
		noErr(t, st.PutMessage(ctx, m), "put")
		got, err := st.GetMessage(ctx, key, m.ID)
		noErr(t, err, "get")
		same(t, m, got, "message read back")
		wantCode(t, st.PutMessage(ctx, m), core.CodeConflict, "put of an existing id")
		_, err = st.GetMessage(ctx, key, core.NewMessageID())
		wantCode(t, err, core.CodeNotFound, "get of a missing id")
		_, err = st.GetMessage(ctx, core.SessionKey{Tenant: uniqueID("t"), ID: key.ID}, m.ID)
		wantCode(t, err, core.CodeNotFound, "get through another tenant")
		_, err = st.GetMessage(ctx, core.SessionKey{Tenant: key.Tenant, ID: uniqueID("s")}, m.ID)
		wantCode(t, err, core.CodeNotFound, "get through another session")
	})
	t.Run("update_status", func(t *testing.T) {
		st, ctx := newState(t), testContext(t)
		key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
		m := sampleMessage(key, core.NewMessageID(), core.DirectionOut, now())
		noErr(t, st.PutMessage(ctx, m), "put")
		later := m.UpdatedAt.Add(time.Second)
		updated, err := st.UpdateMessage(ctx, key, m.ID, func(m *core.Message) error {
			m.Status, m.UpdatedAt = core.MessageSent, later
			return nil
		})
		noErr(t, err, "update")
		want := m
		want.Status, want.UpdatedAt = core.MessageSent, later
		same(t, want, updated, "UpdateMessage result")
		got, err := st.GetMessage(ctx, key, m.ID)
		noErr(t, err, "get")
		same(t, want, got, "updated message read back")

		errStop := errors.New("stop")
		_, err = st.UpdateMessage(ctx, key, m.ID, func(m *core.Message) error { m.Status = core.MessageFailed; return errStop })
		if !errors.Is(err, errStop) {
			t.Fatalf("UpdateMessage returned %v, want fn's error", err)
		}
		got, err = st.GetMessage(ctx, key, m.ID)
		noErr(t, err, "get after aborted update")
		same(t, want, got, "message after an aborted update")
		_, err = st.UpdateMessage(ctx, key, core.NewMessageID(), func(*core.Message) error { return nil })
		wantCode(t, err, core.CodeNotFound, "update of a missing id")
	})
	t.Run("paging", func(t *testing.T) { testPaging(t, newState(t)) })
}

func testPaging(t *testing.T, st core.State) {
	ctx := testContext(t)
	key := core.SessionKey{Tenant: uniqueID("t"), ID: uniqueID("s")}
	base := now().Add(-time.Hour)
	const total = 120
	var all, in []string // newest first
	for i := range total {
		dir := core.DirectionOut
		if i%3 == 0 {
			dir = core.DirectionIn
		}
		m := sampleMessage(key, fmt.Sprintf("M%03d%s", i, core.NewMessageID()), dir, base.Add(time.Duration(i)*time.Millisecond+time.Duration(i)))
		noErr(t, st.PutMessage(ctx, m), "put")
		all = append([]string{m.ID}, all...)
		if dir == core.DirectionIn {
			in = append([]string{m.ID}, in...)
		}
	}
	// Messages of a neighbouring session must not show up.
	other := core.SessionKey{Tenant: key.Tenant, ID: uniqueID("s")}
	noErr(t, st.PutMessage(ctx, sampleMessage(other, core.NewMessageID(), core.DirectionIn, base.Add(time.Second))), "put other")

	got, sizes := listAll(t, st, key, core.MessageQuery{Limit: 50})
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Fatalf("pages of 50 over %d messages had sizes %v, want [50 50 20]", total, sizes)
	}
	if !slices.Equal(got, all) {
		t.Fatalf("paged listing is not every message once, newest first:\n got %v\nwant %v", got, all)
	}
	got, sizes = listAll(t, st, key, core.MessageQuery{Direction: core.DirectionIn, Limit: 20})
	if !slices.Equal(sizes, []int{20, 20}) || !slices.Equal(got, in) {
		t.Fatalf("direction=in pages %v listed %v, want 2 pages of %v", sizes, got, in)
	}
	got, sizes = listAll(t, st, key, core.MessageQuery{Direction: core.DirectionOut, Limit: core.MaxPageSize})
	if len(sizes) != 1 || len(got) != total-len(in) {
		t.Fatalf("direction=out with the maximum limit: pages %v, %d messages, want one page of %d", sizes, len(got), total-len(in))
	}
	page, err := st.ListMessages(ctx, key, core.MessageQuery{})
	noErr(t, err, "default limit")
	if len(page.Messages) != core.DefaultPageSize || page.NextCursor == "" {
		t.Fatalf("limit 0 gave %d messages (cursor %q), want %d and a cursor", len(page.Messages), page.NextCursor, core.DefaultPageSize)
	}
	page, err = st.ListMessages(ctx, core.SessionKey{Tenant: uniqueID("t"), ID: key.ID}, core.MessageQuery{})
	noErr(t, err, "another tenant's listing")
	if len(page.Messages) != 0 {
		t.Fatalf("another tenant lists %d messages of this session", len(page.Messages))
	}

	_, err = st.ListMessages(ctx, key, core.MessageQuery{Limit: core.MaxPageSize + 1})
	wantCode(t, err, core.CodeInvalid, "limit over the maximum")
	_, err = st.ListMessages(ctx, key, core.MessageQuery{Limit: -1})
	wantCode(t, err, core.CodeInvalid, "negative limit")
	for _, bad := range []string{"!!!not-a-cursor", "bm90IGEgY3Vyc29y", "%%%"} {
		_, err = st.ListMessages(ctx, key, core.MessageQuery{Cursor: bad})
		wantCode(t, err, core.CodeInvalid, "cursor "+bad)
	}
}

// listAll follows cursors from the first page to the last, returning the ids in
// listing order and the page sizes.
func listAll(t *testing.T, st core.State, key core.SessionKey, q core.MessageQuery) ([]string, []int) {
	t.Helper()
	ctx := testContext(t)
	var ids []string
	var sizes []int
	for range 100 {
		page, err := st.ListMessages(ctx, key, q)
		noErr(t, err, "list page")
		sizes = append(sizes, len(page.Messages))
		for _, m := range page.Messages {
			if q.Direction != "" && m.Direction != q.Direction {
				t.Fatalf("direction %q listing returned a message with direction %q", q.Direction, m.Direction)
			}
			ids = append(ids, m.ID)
		}
		if page.NextCursor == "" {
			return ids, sizes
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("listing did not end within 100 pages")
	return nil, nil
}
