package sqsbus

import (
	"strings"
	"testing"
	"time"
)

func TestSQSID(t *testing.T) {
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"session_group", "tenant-1/session_a", true},
		{"punctuation", `a!"#$%&'()*+,-./:;<=>?@[\]^_{|}~`, true},
		{"max_length", strings.Repeat("x", 128), true},
		{"too_long", strings.Repeat("x", 129), false},
		{"space", "acme corp/s", false},
		{"unicode", "müller/s", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sqsID(tt.in)
			if tt.keep && got != tt.in {
				t.Fatalf("sqsID(%q) = %q, want it unchanged", tt.in, got)
			}
			if !tt.keep {
				if got == tt.in || len(got) > 128 || strings.ContainsAny(got, " ü") {
					t.Fatalf("sqsID(%q) = %q, want a valid SQS id", tt.in, got)
				}
				if sqsID(tt.in) != got || sqsID(tt.in+"x") == got {
					t.Fatalf("sqsID(%q) is not a stable, distinct mapping", tt.in)
				}
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int32{0: 0, -time.Second: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, 20 * time.Second: 20} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%s) = %d, want %d", d, got, want)
		}
	}
}
