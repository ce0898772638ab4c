package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RIE settings.
const (
	rieInvokePath = "/2015-03-31/functions/function/invocations"
	rieReady      = 15 * time.Second // how long an emulator may take to listen
	rieStopGrace  = 3 * time.Second  // between SIGTERM and SIGKILL of an emulator's group
)

// RIEOptions say how to run the functions' real bootstrap binaries under the AWS
// Lambda Runtime Interface Emulator.
type RIEOptions struct {
	// Path is the aws-lambda-rie binary.
	Path string
	// Bootstraps is the folder holding <function name>/bootstrap, built for this
	// machine's OS and architecture.
	Bootstraps string
	// Concurrency is how many emulators (Lambda execution environments) each
	// function gets; an emulator serves one invocation at a time. At least 1.
	Concurrency int
	// Output receives the emulators' and functions' logs.
	Output io.Writer
}

// RIEInvoker invokes functions through emulator processes, each in its own process
// group so that Close ends the emulator and the bootstrap it started.
type RIEInvoker struct {
	pools  map[string]chan *rieInstance // by logical id
	all    []*rieInstance
	client *http.Client
}

type rieInstance struct {
	fn   string
	addr string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// StartRIE starts o.Concurrency emulators per function with the environment env
// returns for it, and waits until each listens.
func StartRIE(ctx context.Context, o RIEOptions, fns map[string]Function, env func(Function) (map[string]string, error)) (*RIEInvoker, error) {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Output == nil {
		o.Output = io.Discard
	}
	// The emulators run in their function's folder: resolve the paths first.
	var err error
	if o.Path, err = exec.LookPath(o.Path); err == nil {
		o.Path, err = filepath.Abs(o.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("find the emulator: %w", err)
	}
	if o.Bootstraps, err = filepath.Abs(o.Bootstraps); err != nil {
		return nil, fmt.Errorf("find the bootstraps: %w", err)
	}
	inv := &RIEInvoker{pools: map[string]chan *rieInstance{}, client: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	ids := make([]string, 0, len(fns))
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fn := fns[id]
		vars, err := env(fn)
		if err != nil {
			inv.Close()
			return nil, err
		}
		bootstrap := filepath.Join(o.Bootstraps, fn.Name, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			inv.Close()
			return nil, fmt.Errorf("start %s under the emulator: %w", fn.Name, err)
		}
		pool := make(chan *rieInstance, o.Concurrency)
		for range o.Concurrency {
			in, err := startInstance(ctx, o, fn, bootstrap, vars)
			if err != nil {
				inv.Close()
				return nil, err
			}
			inv.all = append(inv.all, in)
			pool <- in
		}
		inv.pools[id] = pool
	}
	return inv, nil
}

func startInstance(ctx context.Context, o RIEOptions, fn Function, bootstrap string, vars map[string]string) (*rieInstance, error) {
	rieAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(o.Path, "--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(fn.Timeout/time.Second)),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", fn.MemoryMB),
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Stdout, cmd.Stderr = o.Output, o.Output
	cmd.SysProcAttr = processGroup()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator for %s: %w", fn.Name, err)
	}
	in := &rieInstance{fn: fn.Name, addr: rieAddr, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(in.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, rieReady)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", rieAddr)
		if err == nil {
			_ = c.Close()
			return in, nil
		}
		select {
		case <-in.done:
			return nil, fmt.Errorf("emulator for %s exited at start: %v", fn.Name, cmd.ProcessState)
		case <-ctx.Done():
			in.stop()
			return nil, fmt.Errorf("emulator for %s did not listen on %s within %s", fn.Name, rieAddr, rieReady)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Invoke waits for an idle emulator of fn and runs one invocation on it.
func (r *RIEInvoker) Invoke(ctx context.Context, fn Function, requestID string, event []byte) ([]byte, error) {
	pool, ok := r.pools[fn.LogicalID]
	if !ok {
		return nil, fmt.Errorf("invoke %s: no such function", fn.Name)
	}
	// Lambda would start another execution environment; here the caller waits for
	// one, as long as the function's timeout.
	ctx, cancel := context.WithTimeout(ctx, fn.Timeout+5*time.Second)
	defer cancel()
	var in *rieInstance
	select {
	case in = <-pool:
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: no idle execution environment: %w", fn.Name, ctx.Err())
	}
	defer func() { pool <- in }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+in.addr+rieInvokePath, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	req.Header.Set("X-Amzn-RequestId", requestID)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: read answer: %w", fn.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke %s: %w: emulator answered %d: %s", fn.Name, errFunctionError, resp.StatusCode, bytes.TrimSpace(out))
	}
	if bytes.HasPrefix(out, []byte("Task timed out")) {
		return nil, fmt.Errorf("invoke %s: %w: %s", fn.Name, errFunctionError, out)
	}
	if err := checkFunctionError(out); err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	return out, nil
}

// Close ends every emulator's process group and waits for the emulators to exit.
func (r *RIEInvoker) Close() {
	var wg sync.WaitGroup
	for _, in := range r.all {
		wg.Go(in.stop)
	}
	wg.Wait()
}

// stop sends SIGTERM to the instance's process group, then SIGKILL after the grace
// period, and waits for the emulator to exit.
func (in *rieInstance) stop() {
	pgid := in.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(rieStopGrace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-in.done
	}
	// The bootstrap may outlive the emulator by a moment: make sure the group is gone.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return strings.TrimSpace(addr), nil
}
