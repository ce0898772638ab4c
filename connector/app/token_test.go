package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wagate/wagate/connector/app"
)

func TestLoadOrCreateTokenKeepsOnePrivateToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	token, created, err := app.LoadOrCreateToken(path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	if len(token) < 40 || strings.ContainsAny(token, " =,\n") {
		t.Errorf("token %q: want a long header-safe random string", token)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	again, created, err := app.LoadOrCreateToken(path)
	if err != nil || created || again != token {
		t.Errorf("second start: %q created=%v err=%v, want the same token", again, created, err)
	}
}

func TestLoadOrCreateTokenNarrowsAWideFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("  my-own-token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	token, created, err := app.LoadOrCreateToken(path)
	if err != nil || created || token != "my-own-token" {
		t.Fatalf("got %q created=%v err=%v, want the file's token", token, created, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after reading, want 0600", info.Mode().Perm())
	}
}

func TestLoadOrCreateTokenRefusesADamagedFile(t *testing.T) {
	for name, content := range map[string]string{"empty": "\n", "two_words": "a b", "huge": strings.Repeat("x", 10<<10)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := app.LoadOrCreateToken(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("damaged token file accepted or not named: %v", err)
			}
		})
	}
}

func TestLoadOrCreateTokenConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tokens := make([]string, 8)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			tok, _, err := app.LoadOrCreateToken(path)
			if err != nil {
				t.Errorf("start %d: %v", i, err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatalf("concurrent starts got different tokens: %q", tokens)
		}
	}
}
