//go:build unix && !linux

package proctest

import "syscall"

// ownGroup starts a child in its own process group.
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
