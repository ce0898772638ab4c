package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/wasim/server"
	"github.com/wagate/wagate/wasim/simtest"
	"github.com/wagate/wagate/wasim/wire"
)

// childEnv set to 1 makes the test binary run the simulator instead of the tests.
const childEnv = "WASIM_BENCH_SERVER"

// benchSeed derives the identity of every benchmark server, so the benchmark process
// pins one root key.
var benchSeed = []byte("wasim bench identity v1")

// profileEnv names a file prefix: each server child writes its CPU profile to
// <prefix>.<pid> when it stops, for pprof.
const profileEnv = "WASIM_BENCH_CPUPROFILE"

// childMaxLife bounds a server child whose parent never closes its stdin.
const childMaxLife = 30 * time.Minute

// childAddrs is the first line a server child prints on stdout.
type childAddrs struct {
	Addr  string `json:"addr"`  // chat websocket and control API
	Stats string `json:"stats"` // the stats endpoint, outside the simulator's handler
}

// serverStats is what the child reports about itself.
type serverStats struct {
	Goroutines int    `json:"goroutines"`
	RSSBytes   int64  `json:"rssBytes"`
	HeapInuse  uint64 `json:"heapInuseBytes"`
	CPU        int64  `json:"cpuNanos"` // user + system CPU time of the whole process
	Connected  int    `json:"connected"`
	Devices    int    `json:"devices"`
}

// runChild serves a simulator until stdin closes (the parent ended) or childMaxLife
// passes, and returns the exit code.
func runChild() int {
	if prefix := os.Getenv(profileEnv); prefix != "" {
		f, err := os.Create(prefix + "." + strconv.Itoa(os.Getpid()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench server: cpu profile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench server: cpu profile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	return serveChild()
}

func serveChild() int {
	id, err := wire.NewIdentityFromSeed(benchSeed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 2
	}
	// Strict mode: anything the load generator sends that whatsmeow would not shows
	// up at /_sim/violations, which startSim checks when the benchmark ends.
	srv, err := server.New(server.WithIdentity(id), server.WithStrict(true),
		server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 2
	}
	chat, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 2
	}
	statsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 2
	}
	stats := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeStats(w, srv) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() { _ = stats.Serve(statsLn) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(chat) }()
	line, _ := json.Marshal(childAddrs{Addr: chat.Addr().String(), Stats: statsLn.Addr().String()})
	fmt.Println(string(line))

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stdinClosed:
	case <-time.After(childMaxLife):
	case err := <-served:
		fmt.Fprintln(os.Stderr, "bench server:", err)
		return 1
	}
	_ = stats.Close()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "bench server: close:", err)
		return 1
	}
	return 0
}

func writeStats(w http.ResponseWriter, srv *server.Server) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	st := serverStats{
		Goroutines: runtime.NumGoroutine(),
		RSSBytes:   selfRSS(),
		HeapInuse:  ms.HeapInuse,
		CPU:        ru.Utime.Nano() + ru.Stime.Nano(),
	}
	for _, d := range srv.Devices() {
		st.Devices++
		if d.Connected {
			st.Connected++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(st)
}

// selfRSS reads VmRSS from /proc/self/status, in bytes (0 when unavailable).
func selfRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// simProc is a simulator running in a child process.
type simProc struct {
	Addr    string          // chat websocket and control API, host:port
	Control *simtest.Client // control API client
	stats   string
	http    *http.Client
}

// startSim starts a simulator child process that stops when the benchmark ends.
func startSim(tb testing.TB) *simProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("server child stdin: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("server child stdout: %v", err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start server child: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var sim *simProc
	tb.Cleanup(func() {
		if sim != nil {
			sim.checkViolations(tb)
		}
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			tb.Errorf("server child did not stop within 20 s after its stdin closed; killed")
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var addrs childAddrs
	select {
	case line, ok := <-lines:
		if !ok || json.Unmarshal([]byte(line), &addrs) != nil || addrs.Addr == "" {
			tb.Fatalf("server child did not report its addresses (got %q)", line)
		}
	case <-time.After(30 * time.Second):
		tb.Fatal("server child did not start within 30 s")
	}
	sim = &simProc{
		Addr:    addrs.Addr,
		Control: simtest.NewClient("http://" + addrs.Addr),
		stats:   "http://" + addrs.Stats + "/",
		http:    &http.Client{Timeout: 30 * time.Second},
	}
	return sim
}

// checkViolations fails the benchmark when the simulator recorded strict-mode
// violations: then the load was not what whatsmeow sends.
func (p *simProc) checkViolations(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+"/_sim/violations", nil)
	if err != nil {
		tb.Errorf("build violations request: %v", err)
		return
	}
	resp, err := p.http.Do(req)
	if err != nil {
		tb.Errorf("simulator violations: %v", err)
		return
	}
	defer resp.Body.Close()
	var body struct {
		Violations []struct {
			Device string `json:"device"`
			Reason string `json:"reason"`
		} `json:"violations"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Errorf("decode simulator violations: %v", err)
		return
	}
	if n := len(body.Violations); n > 0 {
		tb.Errorf("simulator recorded %d strict-mode violation(s), first: %+v", n, body.Violations[0])
	}
}

// Stats asks the child about its goroutines, memory and CPU time.
func (p *simProc) Stats(ctx context.Context) (serverStats, error) {
	var st serverStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.stats, nil)
	if err != nil {
		return st, fmt.Errorf("build stats request: %w", err)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return st, fmt.Errorf("server stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode server stats: %w", err)
	}
	return st, nil
}

// mustStats is Stats failing the benchmark on error.
func (p *simProc) mustStats(tb testing.TB) serverStats {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := p.Stats(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
