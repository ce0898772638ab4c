//go:build unix

package splite2e

import (
	"bufio"
	"encoding/json"
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

// proc is a child process (devapi or a connector) in its own process group. Its JSON
// log lines are kept so a test can wait for one; everything it writes is shown when
// the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd

	mu     sync.Mutex
	logged []logLine
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

// startProc starts bin with args and env in its own process group and records both of
// its output streams. At cleanup the whole group is killed, whatever state it is in.
func startProc(t testing.TB, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.SysProcAttr = ownGroup()
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var readers sync.WaitGroup
	readers.Go(func() { p.read(stdout) })
	readers.Go(func() { p.read(stderr) })
	go func() {
		readers.Wait() // Wait closes the pipes: read everything first
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			t.Errorf("%s did not exit after SIGKILL", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.output(), 400))
		}
		if strings.Contains(p.output(), "WARNING: DATA RACE") {
			t.Errorf("%s had a data race:\n%s", name, p.output())
		}
	})
	return p
}

// read keeps a stream: JSON lines decoded, everything verbatim.
func (p *proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		var l logLine
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

// output returns everything the process wrote so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// find returns the log lines with message msg that match (nil matches all).
func (p *proc) find(msg string, match func(logLine) bool) []logLine {
	return p.lines(func(l logLine) bool { return l.str("msg") == msg && (match == nil || match(l)) })
}

// lines returns the log lines that match.
func (p *proc) lines(match func(logLine) bool) []logLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []logLine
	for _, l := range p.logged {
		if match(l) {
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
	apitest.Eventually(t, timeout, fmt.Sprintf("%s to log %s", p.name, msg), func() (bool, string) {
		if ls := p.find(msg, match); len(ls) > 0 {
			found = ls[len(ls)-1]
			return true, ""
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) before logging %s:\n%s", p.name, p.exitErr(), msg, tail(p.output(), 100))
		default:
		}
		return false, "not yet"
	})
	return found
}

// kill sends SIGKILL to the process group.
func (p *proc) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// stop sends SIGTERM to the process and waits for it to exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to %s: %v", p.name, err)
	}
	p.waitExit(t)
}

// waitExit waits for the process to exit.
func (p *proc) waitExit(t testing.TB) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("%s still runs after %s", p.name, stopTimeout)
	}
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return fmt.Sprintf("[%d lines before]\n%s", len(lines)-n, strings.Join(lines[len(lines)-n:], "\n"))
}
