//go:build unix

// Package proctest runs wagate's binaries as child processes for the end-to-end
// suites of the split deployment: each in its own process group, its JSON log lines
// kept for a test to wait on, killed at cleanup whatever state it is in.
package proctest

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

// StopTimeout is how long a process may take to exit after SIGTERM (wagate's own
// budget is 25 s) or SIGKILL.
const StopTimeout = 40 * time.Second

// failureTail is how many lines of a process's output a failing test shows.
const failureTail = 400

// Proc is a child process whose output is kept.
type Proc struct {
	Name string
	Cmd  *exec.Cmd

	mu     sync.Mutex
	logged []LogLine
	raw    strings.Builder
	exited chan struct{}
	err    error // Wait's result, after exited
}

// LogLine is one decoded JSON log line.
type LogLine map[string]any

// Str returns a string attribute of the line ("" when absent).
func (l LogLine) Str(key string) string {
	s, _ := l[key].(string)
	return s
}

// Start starts bin with args and env in its own process group and keeps both of its
// output streams. At cleanup the group is killed; the output is shown if the test
// failed, and a data race in wagate's code fails the test.
func Start(t testing.TB, name, bin string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, exited: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = env
	p.Cmd.SysProcAttr = ownGroup()
	stdout, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var readers sync.WaitGroup
	readers.Go(func() { p.read(stdout) })
	readers.Go(func() { p.read(stderr) })
	go func() {
		readers.Wait() // Wait closes the pipes: read everything first
		err := p.Cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Kill(syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(StopTimeout):
			t.Errorf("%s did not exit after SIGKILL", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, Tail(p.Output(), failureTail))
		}
		for _, race := range DataRaces(p.Output()) {
			if Ours(race) {
				t.Errorf("%s had a data race:\n%s", name, race)
			} else {
				t.Logf("%s: a data race within whatsmeow itself (both accesses in its code):\n%s", name, race)
			}
		}
	})
	return p
}

// read keeps a stream: JSON lines decoded, everything verbatim.
func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		var l LogLine
		_ = json.Unmarshal([]byte(line), &l)
		p.mu.Lock()
		p.raw.WriteString(line)
		p.raw.WriteByte('\n')
		if l != nil {
			p.logged = append(p.logged, l)
		}
		p.mu.Unlock()
	}
}

// Output returns everything the process wrote so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// Find returns the log lines with message msg that match (nil matches all).
func (p *Proc) Find(msg string, match func(LogLine) bool) []LogLine {
	return p.Lines(func(l LogLine) bool { return l.Str("msg") == msg && (match == nil || match(l)) })
}

// Lines returns the log lines that match.
func (p *Proc) Lines(match func(LogLine) bool) []LogLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []LogLine
	for _, l := range p.logged {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// WaitLog waits until the process logs msg (matching match) and returns the latest
// such line, failing the test if the process exits first or the timeout passes.
func (p *Proc) WaitLog(t testing.TB, timeout time.Duration, msg string, match func(LogLine) bool) LogLine {
	t.Helper()
	var found LogLine
	apitest.Eventually(t, timeout, fmt.Sprintf("%s to log %s", p.Name, msg), func() (bool, string) {
		if ls := p.Find(msg, match); len(ls) > 0 {
			found = ls[len(ls)-1]
			return true, ""
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before logging %s:\n%s", p.Name, p.exitErr(), msg, Tail(p.Output(), 100))
		default:
		}
		return false, "not yet"
	})
	return found
}

// Kill sends sig to the process group.
func (p *Proc) Kill(sig syscall.Signal) {
	if p.Cmd.Process != nil {
		_ = syscall.Kill(-p.Cmd.Process.Pid, sig)
	}
}

// Signal sends sig to the process only.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.Name, err)
	}
}

// Stop sends SIGTERM to the process and returns its exit code once it exited.
func (p *Proc) Stop(t testing.TB) int {
	t.Helper()
	p.Signal(t, syscall.SIGTERM)
	return p.WaitExit(t, StopTimeout)
}

// WaitExit waits for the process to exit and returns its exit code (-1 when a
// signal ended it).
func (p *Proc) WaitExit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("%s still runs after %s:\n%s", p.Name, timeout, Tail(p.Output(), failureTail))
	}
	var exit *exec.ExitError
	if err := p.exitErr(); errors.As(err, &exit) {
		return exit.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	return 0
}

func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[%d lines before]\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], "\n"))
}

// DataRaces returns the race detector's reports in a process's output.
func DataRaces(out string) []string {
	var races []string
	for _, part := range strings.Split(out, "WARNING: DATA RACE")[1:] {
		report, _, _ := strings.Cut(part, "==================")
		races = append(races, report)
	}
	return races
}

// Ours reports whether one of a race's two conflicting accesses is made by wagate's
// code: the innermost frame of a "Read at", "Write at" or "Previous ... at" stack. A
// race between two accesses inside whatsmeow is whatsmeow's own, whoever called it.
func Ours(race string) bool {
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
