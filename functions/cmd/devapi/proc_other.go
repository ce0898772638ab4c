//go:build !linux

package main

import "syscall"

// processGroup puts a child in its own process group, so stopping it ends what it
// started.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
