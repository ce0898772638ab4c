package main

import "syscall"

// processGroup puts a child in its own process group (so stopping it ends what it
// started) and has the kernel kill it if devapi dies first.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
