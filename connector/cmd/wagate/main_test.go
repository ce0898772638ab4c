package main

import (
	"bytes"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/wasim/simtest"
)

// lockedBuffer collects a command's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"env"}, &out, &out); code != 0 {
		t.Fatalf("wagate env: exit %d", code)
	}
	for _, name := range app.EnvNames() {
		if !regexp.MustCompile(`(?m)^#?` + name + `=`).MatchString(out.String()) {
			t.Errorf(".env.example does not document %s", name)
		}
	}
}

func TestBadConfigurationStopsWithTheVariableNamed(t *testing.T) {
	t.Setenv("WAGATE_ADDR", "no-port")
	t.Setenv("WAGATE_LOG_FORMAT", "xml")
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, name := range []string{"WAGATE_ADDR", "WAGATE_LOG_FORMAT"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not name %s:\n%s", name, stderr.String())
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &out); code != 2 || !strings.Contains(out.String(), "usage") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
}

// TestServeUntilSIGTERM runs the command as a container would: configured by the
// environment, it prints the admin page URL with its token, passes the health check,
// and exits 0 on SIGTERM after a clean shutdown.
func TestServeUntilSIGTERM(t *testing.T) {
	sim := simtest.Start(t)
	dir := t.TempDir()
	t.Setenv("WAGATE_ADDR", "127.0.0.1:0")
	t.Setenv("WAGATE_DATA", dir)
	t.Setenv("WAGATE_WA_DIAL", sim.Addr)
	t.Setenv("WAGATE_TOKENS", "")
	var stdout, stderr lockedBuffer
	exit := make(chan int, 1)
	go func() { exit <- run([]string{"serve"}, &stdout, &stderr) }()

	url := regexp.MustCompile(`open (http://\S+)/#token=(\S+)`)
	var m []string
	deadline := time.Now().Add(time.Minute)
	for m == nil {
		select {
		case code := <-exit:
			t.Fatalf("serve exited with %d before it was ready:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin page URL printed:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
		m = url.FindStringSubmatch(stdout.String())
	}
	token, err := os.ReadFile(dir + "/token")
	if err != nil || strings.TrimSpace(string(token)) != m[2] {
		t.Errorf("printed token is not the one in the data folder (%v)", err)
	}
	if strings.Contains(stderr.String(), m[2]) {
		t.Errorf("the logs contain the token")
	}

	t.Setenv("WAGATE_ADDR", strings.TrimPrefix(m[1], "http://"))
	var hc bytes.Buffer
	if code := run([]string{"healthcheck"}, &hc, &hc); code != 0 {
		t.Errorf("healthcheck of a running wagate: exit %d: %s", code, hc.String())
	}
	resp, err := http.Get(m[1] + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin page: %v %v", err, resp)
	}
	resp.Body.Close()

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d after SIGTERM:\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of SIGTERM")
	}
	if !strings.Contains(stderr.String(), "wagate_stopped") {
		t.Errorf("no clean shutdown logged:\n%s", stderr.String())
	}
	hc.Reset()
	if code := run([]string{"healthcheck"}, &hc, &hc); code != 1 {
		t.Errorf("healthcheck of a stopped wagate: exit %d, want 1", code)
	}
}
