package core_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/core"
)

// TestCursorRoundTrip: a page's cursor reads back as the same place in the order,
// and anything a server did not make is refused as invalid.
func TestCursorRoundTrip(t *testing.T) {
	m := core.Message{ID: "3EB0ABC", CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 123, time.UTC)}
	p := core.PositionOf(m)
	got, err := core.ParseCursor(p.Cursor())
	if err != nil || got != p {
		t.Fatalf("ParseCursor(Cursor()) = %+v, %v; want %+v", got, err, p)
	}
	older := core.Position{At: p.At - 1, ID: "ZZZ"}
	if !p.NewerThan(older) || older.NewerThan(p) {
		t.Error("a later CreatedAt is not newer")
	}
	sameTime := core.Position{At: p.At, ID: "3EB0ABB"}
	if !p.NewerThan(sameTime) {
		t.Error("at the same time, the greater id does not come first")
	}
	for _, bad := range []string{"", "!!", "bm9jb2xvbg", "MTIzOg", "eDox"} { // "nocolon", "123:", "x:1"
		if _, err := core.ParseCursor(bad); !core.IsCode(err, core.CodeInvalid) {
			t.Errorf("ParseCursor(%q) = %v, want invalid", bad, err)
		}
	}
}
