package proctest

import "syscall"

// ownGroup starts a child in its own process group, killed by the kernel if the test
// process dies first (a test binary that times out runs no cleanup).
func ownGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
