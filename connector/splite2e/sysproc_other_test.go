//go:build unix && !linux

package splite2e

import "syscall"

// ownGroup starts a child in its own process group.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
