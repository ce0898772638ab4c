package apigw_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoWhatsmeow keeps the functions module free of whatsmeow: the Lambda functions
// must not carry the WhatsApp client, and only the connector may talk to WhatsApp.
func TestNoWhatsmeow(t *testing.T) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(gomod)))
	if filepath.Base(dir) != "functions" {
		t.Fatalf("module root %q is not the functions module", dir)
	}
	cmd := exec.Command("go", "list", "-deps", "-test", "./...")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(pkgs), out)
	}
	for _, p := range pkgs {
		if p == "go.mau.fi/whatsmeow" || strings.HasPrefix(p, "go.mau.fi/whatsmeow/") {
			t.Errorf("the functions module depends on %s", p)
		}
	}
}
