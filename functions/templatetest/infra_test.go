package templatetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/functions/lambdaevents"
)

func readInfra(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "infra", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// directives returns the "Key=value" lines of a systemd unit, comments dropped.
func directives(unit string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[k] = append(out[k], v)
	}
	return out
}

func TestSystemdUnit(t *testing.T) {
	d := directives(readInfra(t, "wagate-connector.service"))
	want := map[string]string{
		"User":            "wagate",
		"EnvironmentFile": "/etc/wagate/connector.env",
		"Restart":         "on-failure",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ReadWritePaths":  "/var/lib/wagate",
		"TimeoutStopSec":  "30",
		"KillSignal":      "SIGTERM",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s=%v, want %s", k, got, v)
		}
	}
	if len(d["ExecStart"]) != 1 {
		t.Errorf("ExecStart %v, want one command", d["ExecStart"])
	}
}

func TestDockerfile(t *testing.T) {
	df := readInfra(t, "Dockerfile")
	var froms []string
	var user, health string
	for _, line := range strings.Split(df, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
		case "USER":
			user = f[1]
		case "HEALTHCHECK":
			health = line
		case "EXPOSE":
			t.Errorf("the image exposes a port (%s); the connector serves nothing public", line)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM lines %q, want a multi-stage build", froms)
	}
	final := froms[len(froms)-1]
	if !strings.Contains(final, "distroless/static") || !strings.Contains(final, ":nonroot") {
		t.Errorf("final stage %q, want the distroless static nonroot base", final)
	}
	if !strings.HasPrefix(user, "nonroot") {
		t.Errorf("USER %q, want nonroot", user)
	}
	if !regexp.MustCompile(`CMD \["/connector", "healthcheck"\]`).MatchString(health) {
		t.Errorf("HEALTHCHECK %q, want the connector's own healthcheck subcommand", health)
	}
	if !strings.Contains(df, "./cmd/connector") || !strings.Contains(df, "CGO_ENABLED=0") {
		t.Error("the build stage does not build ./cmd/connector statically")
	}
}

var envLine = regexp.MustCompile(`(?m)^#?([A-Z][A-Z0-9_]+)=`)

func TestEnvExampleDocumentsEverySetting(t *testing.T) {
	example := readInfra(t, "connector.env.example")
	documented := map[string]bool{}
	for _, m := range envLine.FindAllStringSubmatch(example, -1) {
		documented[m[1]] = true
	}
	settings := []string{
		// The configuration of the design.
		"WAGATE_ADDR", "WAGATE_DATA", "WAGATE_STORE", "WAGATE_STATE_TABLE", "WAGATE_COMMANDS_QUEUE_URL",
		"WAGATE_EVENTS_QUEUE_URL", "WAGATE_TOKENS", "WAGATE_LOG_FORMAT", "WAGATE_WA_DIAL",
		"WAGATE_CREATE_RESOURCES", "TENANT_CLAIM", "AWS_REGION", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS",
		// What the functions read.
		lambdaapi.EnvStateTable, lambdaapi.EnvCommandsQueueURL, lambdaapi.EnvTenantClaim,
		lambdaevents.EnvEventsQueueURL, lambdaevents.EnvWebhookSecret, lambdaevents.EnvWebhookAllowPrivate,
	}
	for _, s := range settings {
		if !documented[s] {
			t.Errorf("connector.env.example does not document %s", s)
		}
	}
	// Safe defaults: what is set (not commented out) keeps the API on loopback and
	// never points at the simulator.
	for _, line := range strings.Split(example, "\n") {
		switch {
		case strings.HasPrefix(line, "WAGATE_ADDR=") && !strings.HasPrefix(line, "WAGATE_ADDR=127.0.0.1:"):
			t.Errorf("default %q listens beyond loopback", line)
		case strings.HasPrefix(line, "WAGATE_WA_DIAL="), strings.HasPrefix(line, "WAGATE_WEBHOOK_ALLOW_PRIVATE=1"),
			strings.HasPrefix(line, "WAGATE_CREATE_RESOURCES=1"), strings.HasPrefix(line, "WAGATE_WEBHOOK_SECRET="):
			t.Errorf("%q must not be set by default", line)
		}
	}
}
