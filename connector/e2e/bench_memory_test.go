package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/connector/app"
	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/wasim/simtest"
)

// The memory benchmark measures idle connected sessions in a child process (the test
// binary run again), so the simulator and the load generator are not in the numbers.
// A child restores every session of a data folder linked beforehand, waits until all
// are connected and idle, collects garbage, and reports VmRSS from
// /proc/self/status and the Go runtime's HeapInuse+StackInuse. The cost of one
// session is (value with N sessions − value with none) / N.

// Environment of a memory child.
const (
	childKindEnv = "WAGATE_BENCH_CHILD" // "wagate" or "bare"
	childDirEnv  = "WAGATE_BENCH_DIR"   // data folder (wagate) or key store file (bare)
	childSimEnv  = "WAGATE_BENCH_SIM"   // simulator address
	childNEnv    = "WAGATE_BENCH_N"     // sessions to wait for
	// heapProfileEnv, when set in the benchmark's environment, makes every memory
	// child write a heap profile to <value>-<kind>-<n>.pprof after measuring.
	heapProfileEnv = "WAGATE_BENCH_HEAPPROFILE"
)

// Settings of the memory benchmark.
const (
	memLinkParallel = 32               // links at a time while preparing (disk bound)
	memConnParallel = 8                // bare connects at a time, as wagate restores
	memSettle       = 5 * time.Second  // idle time before measuring
	memChildTimeout = 10 * time.Minute // a child that is not done by then is killed
)

// memSizes are the session counts measured; -short keeps the small one only.
var memSizes = []int{100, 1000}

// memStats is what a memory child reports.
type memStats struct {
	N          int    `json:"n"`
	RSS        int64  `json:"rss"`
	Go         uint64 `json:"go"` // HeapInuse + StackInuse
	Stack      uint64 `json:"stack"`
	HeapAlloc  uint64 `json:"heapAlloc"` // bytes of live objects (HeapInuse less free slots in used spans)
	Goroutines int    `json:"goroutines"`
	// Outside is the resident memory the Go runtime did not map (RSS less what the
	// runtime holds from the OS): the binary, and what SQLite's allocator holds.
	Outside    int64   `json:"outside"`
	ConnectSec float64 `json:"connectSec"`
}

// BenchmarkIdleSessionMemory measures the memory of connected idle sessions: wagate
// (the whole local binary: API, connector, supervisors) against bare whatsmeow
// clients, with 100 and 1,000 sessions.
func BenchmarkIdleSessionMemory(b *testing.B) {
	sizes := memSizes
	if testing.Short() {
		sizes = sizes[:1]
	}
	for range b.N {
		sim := simtest.Start(b)
		dir := benchDir(b)
		baseW := runMemChild(b, "wagate", filepath.Join(dir, "w0"), sim.Addr, 0)
		baseB := runMemChild(b, "bare", filepath.Join(dir, "b0.db"), sim.Addr, 0)
		b.Logf("baseline: wagate RSS %.1f MiB (Go %.1f MiB), bare RSS %.1f MiB (Go %.1f MiB)",
			mib(baseW.RSS), mib(int64(baseW.Go)), mib(baseB.RSS), mib(int64(baseB.Go)))
		for k, n := range sizes {
			wdir := filepath.Join(dir, fmt.Sprintf("w%d", n))
			bdb := filepath.Join(dir, fmt.Sprintf("b%d.db", n))
			start := time.Now()
			phones := createPhones(b, sim, 5560000000+k*100000, 2*n)
			prepareWagate(b, sim, wdir, phones[:n])
			mid := time.Now()
			prepareBare(b, sim, bdb, phones[n:])
			b.Logf("n=%d: linked %d wagate sessions in %s and %d bare clients in %s", n, n, mid.Sub(start).Round(time.Second),
				n, time.Since(mid).Round(time.Second))
			w := runMemChild(b, "wagate", wdir, sim.Addr, n)
			bb := runMemChild(b, "bare", bdb, sim.Addr, n)
			wRSS, bRSS := perSession(w.RSS, baseW.RSS, n), perSession(bb.RSS, baseB.RSS, n)
			wGo, bGo := perSession(int64(w.Go), int64(baseW.Go), n), perSession(int64(bb.Go), int64(baseB.Go), n)
			b.ReportMetric(wRSS, fmt.Sprintf("wagate-KiB-rss/session@%d", n))
			b.ReportMetric(bRSS, fmt.Sprintf("bare-KiB-rss/session@%d", n))
			b.ReportMetric(wRSS/bRSS, fmt.Sprintf("rss-ratio@%d", n))
			wOut, bOut := perSession(w.Outside, baseW.Outside, n), perSession(bb.Outside, baseB.Outside, n)
			b.Logf("n=%d: per session stacks wagate %.1f KiB, bare %.1f KiB; live heap objects wagate %.1f KiB, bare %.1f KiB", n,
				perSession(int64(w.Stack), int64(baseW.Stack), n), perSession(int64(bb.Stack), int64(baseB.Stack), n),
				perSession(int64(w.HeapAlloc), int64(baseW.HeapAlloc), n), perSession(int64(bb.HeapAlloc), int64(baseB.HeapAlloc), n))
			b.Logf("n=%d: per session RSS wagate %.1f KiB, bare %.1f KiB (ratio %.2f); HeapInuse+StackInuse wagate %.1f KiB, bare %.1f KiB (ratio %.2f); outside the Go runtime wagate %.1f KiB, bare %.1f KiB; goroutines wagate %d, bare %d; connect all: wagate %.1f s, bare %.1f s",
				n, wRSS, bRSS, wRSS/bRSS, wGo, bGo, wGo/bGo, wOut, bOut, w.Goroutines-baseW.Goroutines, bb.Goroutines-baseB.Goroutines, w.ConnectSec, bb.ConnectSec)
		}
	}
}

// benchDir returns a folder for the benchmark's stores: on tmpfs (/dev/shm) when
// there is one, so that linking thousands of devices is bound by CPU, not by fsync.
// The measurements are of idle processes and do not depend on it.
func benchDir(b *testing.B) string {
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "wagate-bench-")
		if err == nil {
			b.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return b.TempDir()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// perSession is the KiB one session adds over the baseline.
func perSession(with, base int64, n int) float64 { return float64(with-base) / float64(n) / 1024 }

// prepareWagate links n wagate sessions in a fresh data folder and stops wagate.
func prepareWagate(b *testing.B, sim *simtest.Sim, dir string, phones []string) {
	cfg := app.DefaultConfig()
	cfg.Addr, cfg.DataDir, cfg.WADial = "127.0.0.1:0", dir, sim.Addr
	benchConfig(&cfg)
	e := &env{t: b, sim: sim, cfg: cfg, logs: &syncBuffer{}}
	e.run()
	e.linkMany(b, sessionIDs("mem", len(phones)), phones, memLinkParallel)
	if err := e.main.Close(); err != nil {
		b.Fatalf("stop wagate after linking: %v", err)
	}
}

// prepareBare links n bare whatsmeow clients into a key store file and disconnects them.
func prepareBare(b *testing.B, sim *simtest.Sim, path string, phones []string) {
	c := bareStore(b, path)
	h := simtest.HTTPClient(sim.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), memChildTimeout)
	defer cancel()
	clis := make([]*whatsmeow.Client, len(phones))
	sem := make(chan struct{}, memLinkParallel)
	var wg sync.WaitGroup
	for i, p := range phones {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cli, err := linkBare(ctx, sim, c, h, p)
			if err != nil {
				b.Errorf("link bare client %d: %v", i, err)
				return
			}
			clis[i] = cli
		})
	}
	wg.Wait()
	for _, cli := range clis {
		if cli != nil {
			cli.Disconnect()
		}
	}
	if b.Failed() {
		b.FailNow()
	}
}

// runMemChild runs a memory child and returns what it measured.
func runMemChild(b *testing.B, kind, dir, simAddr string, n int) memStats {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), memChildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childKindEnv+"="+kind, childDirEnv+"="+dir, childSimEnv+"="+simAddr,
		childNEnv+"="+strconv.Itoa(n), "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s child: %v", kind, err)
	}
	var st memStats
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err == nil {
		err = json.Unmarshal([]byte(line), &st)
	}
	_ = stdin.Close() // the child stops once it has reported
	_, _ = io.Copy(io.Discard, stdout)
	if werr := cmd.Wait(); err != nil || werr != nil {
		b.Fatalf("%s child with %d sessions: %v %v (%q)", kind, n, err, werr, line)
	}
	return st
}

// runMemChildMain is the child side: it holds n sessions, reports, and waits for its
// stdin to close.
func runMemChildMain() int {
	n, _ := strconv.Atoi(os.Getenv(childNEnv))
	dir, sim := os.Getenv(childDirEnv), os.Getenv(childSimEnv)
	var (
		stop func()
		err  error
	)
	start := time.Now()
	switch os.Getenv(childKindEnv) {
	case "wagate":
		stop, err = holdWagate(dir, sim, n)
	case "bare":
		stop, err = holdBare(dir, sim, n)
	default:
		err = fmt.Errorf("unknown child kind %q", os.Getenv(childKindEnv))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "memory child:", err)
		return 1
	}
	connect := time.Since(start)
	time.Sleep(memSettle)
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := selfRSS()
	st := memStats{N: n, RSS: rss, Go: ms.HeapInuse + ms.StackInuse, Stack: ms.StackInuse, HeapAlloc: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(),
		ConnectSec: connect.Seconds(), Outside: rss - int64(ms.Sys-ms.HeapReleased)}
	_ = json.NewEncoder(os.Stdout).Encode(st)
	if prefix := os.Getenv(heapProfileEnv); prefix != "" {
		if err := writeHeapProfile(fmt.Sprintf("%s-%s-%d.pprof", prefix, os.Getenv(childKindEnv), n)); err != nil {
			fmt.Fprintln(os.Stderr, "memory child:", err)
		}
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	stop()
	return 0
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// holdWagate starts wagate on dir and waits until its n sessions are connected.
func holdWagate(dir, sim string, n int) (func(), error) {
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.Config.WADial = "127.0.0.1:0", dir, sim
	benchConfig(&m.Config)
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.Run(context.Background()); err != nil {
		return nil, err
	}
	if err := waitAllConnected(newClient(m.URL(), m.Token()), n, memChildTimeout); err != nil {
		_ = m.Close()
		return nil, err
	}
	return func() { _ = m.Close() }, nil
}

// waitAllConnected waits until wagate lists n sessions, all connected. It follows the
// event stream, as the admin page does, and lists the sessions only when the events
// say all are connected: listing 1,000 sessions every 100 ms, as this benchmark did
// before, put about 100 MB of the poller's garbage (and the heap fragmentation it
// leaves) into what the child measured, where the bare side counts events in memory.
func waitAllConnected(c *client, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body, err := c.subscribe(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	// The list covers the sessions that connected before the stream opened, and
	// checks that the events told the truth.
	var (
		connected map[string]bool
		total     int
	)
	done := func() bool {
		connected, total, err = countConnected(c)
		return err != nil || (len(connected) == n && total == n)
	}
	if done() {
		return err
	}
	rerr := readEvents(body, func(e core.Event, bad error) bool {
		var s core.Session
		if bad != nil || e.Type != core.EventSessionStatus || json.Unmarshal(e.Data, &s) != nil {
			return true
		}
		if s.Status == core.StatusConnected {
			connected[e.SessionID] = true
		} else {
			delete(connected, e.SessionID)
		}
		return len(connected) < n || !done()
	})
	if err != nil || (len(connected) == n && total == n) {
		return err
	}
	return fmt.Errorf("%d of %d sessions connected when the event stream ended: %v", len(connected), n, rerr)
}

// countConnected lists wagate's sessions: the ids of the connected ones and how many
// there are.
func countConnected(c *client) (map[string]bool, int, error) {
	r, err := c.Try("GET", "/v1/sessions", nil)
	if err != nil {
		return nil, 0, err
	}
	var list struct {
		Sessions []core.Session `json:"sessions"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		return nil, 0, fmt.Errorf("GET /v1/sessions: %w", err)
	}
	connected := map[string]bool{}
	for _, s := range list.Sessions {
		if s.Status == core.StatusConnected {
			connected[s.ID] = true
		}
	}
	return connected, len(list.Sessions), nil
}

// holdBare connects every device of the key store at path and waits until all n are
// logged in.
func holdBare(path, sim string, n int) (func(), error) {
	ctx := context.Background()
	c, err := wa.OpenStore(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	devs, err := c.GetAllDevices(ctx)
	if err != nil || len(devs) != n {
		return nil, fmt.Errorf("%d devices in the store, want %d (%v)", len(devs), n, err)
	}
	h := simtest.HTTPClient(sim)
	var connected atomic.Int64
	clis := make([]*whatsmeow.Client, n)
	sem := make(chan struct{}, memConnParallel)
	var wg sync.WaitGroup
	for i, d := range devs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cli := whatsmeow.NewClient(d, nil)
			cli.SetPreLoginHTTPClient(h)
			cli.SetWebsocketHTTPClient(h)
			cli.AddEventHandler(func(evt any) {
				if _, ok := evt.(*events.Connected); ok {
					connected.Add(1)
				}
			})
			clis[i] = cli
			_ = cli.ConnectContext(ctx)
		})
	}
	wg.Wait()
	deadline := time.Now().Add(memChildTimeout)
	for connected.Load() < int64(n) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d bare clients connected", connected.Load(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		for _, cli := range clis {
			cli.Disconnect()
		}
		_ = c.Close()
	}, nil
}

// selfRSS reads VmRSS from /proc/self/status, in bytes (0 when unavailable).
func selfRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
