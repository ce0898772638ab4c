package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserHint says how to get what the browser test needs.
const browserHint = "the browser test needs Node.js 20+, Debian's chromium (apt-get install chromium, or set CHROMIUM) " +
	"and playwright-core (cd web/e2e && npm ci); `make browser-deps` installs them"

// TestAdminPageInBrowser drives the admin page in headless Chromium against a real
// wagate and the simulator: create a session, Connect, the QR appears, the phone
// scans it, the page shows connected, a message sent with the form reaches the
// other phone, and its reply shows up live. The script is web/e2e/admin.test.mjs;
// its screenshots are kept in out/e2e-browser/ at the repository root.
func TestAdminPageInBrowser(t *testing.T) {
	if os.Getenv("WAGATE_E2E_BROWSER") != "1" {
		t.Skip("browser test skipped: run it with WAGATE_E2E_BROWSER=1 (make test does); " + browserHint)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "web", "e2e")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %s", browserHint)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium not found at %s: %s", chromium, browserHint)
	}
	if _, err := os.Stat(filepath.Join(script, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed in web/e2e: %s", browserHint)
	}
	out := filepath.Join(root, "out", "e2e-browser", time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	e := start(t)
	alice, bob := e.phone(t, alicePhone, "Alice"), e.phone(t, bobPhone, "Bob")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", "admin.test.mjs")
	cmd.Dir = script
	cmd.Env = append(os.Environ(),
		"WAGATE_URL="+e.main.URL(), "WAGATE_TOKEN="+e.api.Token, "WASIM_URL="+e.sim.URL,
		"PHONE="+alice, "PHONE2="+bob, "OUT_DIR="+out, "CHROMIUM="+chromium)
	output, err := cmd.CombinedOutput()
	t.Logf("node --test admin.test.mjs:\n%s", output)
	shots, _ := filepath.Glob(filepath.Join(out, "*.png"))
	t.Logf("screenshots (%d) in %s", len(shots), out)
	if err != nil {
		t.Fatalf("the browser test failed: %v", err)
	}
	if !strings.Contains(string(output), "# pass 1") || !strings.Contains(string(output), "# skipped 0") {
		t.Fatalf("the browser test did not run and pass")
	}
	if len(shots) < 5 {
		t.Errorf("%d screenshots, want one per step (5)", len(shots))
	}
}
