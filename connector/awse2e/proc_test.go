//go:build unix

package awse2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/connector/internal/apitest"
)

// proc is a connector process started from the binary TestMain built, in its own
// process group; its JSON log lines are kept for the test to wait on.
type proc struct {
	name   string
	cmd    *exec.Cmd
	health string // host:port of GET /healthz

	mu     sync.Mutex
	lines  []logLine
	raw    strings.Builder
	exited chan struct{}
	err    error // Wait's result, after exited
}

// logLine is one decoded JSON log line.
type logLine map[string]any

// str returns a string attribute of the line.
func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

// startConnector starts a connector process named id on the stack and waits until it
// is ready. The process group is killed at cleanup whatever state it is in.
func startConnector(t *testing.T, s *stack, id string, extraEnv ...string) *proc {
	t.Helper()
	p := &proc{name: id, exited: make(chan struct{})}
	p.cmd = exec.Command(connectorBin)
	p.cmd.Env = append(s.connectorEnv(id), extraEnv...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start connector %s: %v", id, err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		p.read(out)
	}()
	go func() {
		<-read // Wait closes the pipe: read everything first
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill(syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			t.Errorf("connector %s did not exit after SIGKILL", id)
		}
		if t.Failed() {
			t.Logf("connector %s output:\n%s", id, p.output())
		}
		for _, race := range dataRaces(p.output()) {
			if ours(race) {
				t.Errorf("connector %s had a data race:\n%s", id, race)
			} else {
				t.Logf("connector %s: a data race within whatsmeow itself (both accesses in its code):\n%s", id, race)
			}
		}
	})
	ready := p.waitLog(t, readyTimeout, "connector_ready", nil)
	p.health = ready.str("health_addr")
	return p
}

// read keeps the process's stderr: JSON lines decoded, everything verbatim.
func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var l logLine
		_ = json.Unmarshal([]byte(line), &l)
		p.mu.Lock()
		p.raw.WriteString(line)
		p.raw.WriteByte('\n')
		if l != nil {
			p.lines = append(p.lines, l)
		}
		p.mu.Unlock()
	}
}

// output returns everything the process wrote to stderr so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// find returns the log lines with message msg that match (nil matches all).
func (p *proc) find(msg string, match func(logLine) bool) []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []logLine
	for _, l := range p.lines {
		if l.str("msg") == msg && (match == nil || match(l)) {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits until the process logs msg (matching match), failing the test if it
// exits first or the timeout passes.
func (p *proc) waitLog(t testing.TB, timeout time.Duration, msg string, match func(logLine) bool) logLine {
	t.Helper()
	var found logLine
	apitest.Eventually(t, timeout, fmt.Sprintf("connector %s to log %s", p.name, msg), func() (bool, string) {
		if ls := p.find(msg, match); len(ls) > 0 {
			found = ls[len(ls)-1]
			return true, ""
		}
		select {
		case <-p.exited:
			t.Fatalf("connector %s exited (%v) before logging %s:\n%s", p.name, p.exitErr(), msg, p.output())
		default:
		}
		return false, "not yet"
	})
	return found
}

// kill sends sig to the process group.
func (p *proc) kill(sig syscall.Signal) {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// signal sends sig to the process only.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to connector %s: %v", sig, p.name, err)
	}
}

// waitExit waits for the process to exit and returns its exit code (-1 when a
// signal ended it).
func (p *proc) waitExit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("connector %s still runs after %s:\n%s", p.name, timeout, p.output())
	}
	var exit *exec.ExitError
	if err := p.exitErr(); errors.As(err, &exit) {
		return exit.ExitCode()
	} else if err != nil {
		t.Fatalf("connector %s: %v", p.name, err)
	}
	return 0
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// dataRaces returns the race detector's reports in a process's output.
func dataRaces(out string) []string {
	var races []string
	for _, part := range strings.Split(out, "WARNING: DATA RACE")[1:] {
		report, _, _ := strings.Cut(part, "==================")
		races = append(races, report)
	}
	return races
}

// ours reports whether one of a race's two conflicting accesses is made by wagate's
// code: the innermost frame of a "Read at", "Write at" or "Previous ... at" stack. A race between two
// accesses inside whatsmeow is whatsmeow's own, whoever called it.
func ours(race string) bool {
	lines := strings.Split(race, "\n")
	for i, l := range lines {
		l = strings.ToLower(l)
		if (strings.Contains(l, "read at 0x") || strings.Contains(l, "write at 0x")) && i+1 < len(lines) &&
			strings.HasPrefix(strings.TrimSpace(lines[i+1]), "github.com/wagate/wagate/") {
			return true
		}
	}
	return false
}

// sessionLog matches log lines about one session.
func sessionLog(id string) func(logLine) bool {
	return func(l logLine) bool { return l.str("session") == id }
}
