//go:build unix

package awse2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/connector/wa"
	"github.com/wagate/wagate/wasim/simtest"
)

// connectorBin is the connector binary built once for the package's tests.
var connectorBin string

// TestMain builds cmd/connector once (with the race detector when the tests have
// it), and makes this process's whatsmeow trust the simulator for the in-process
// benchmark; child processes read the simulator's key themselves.
func TestMain(m *testing.M) {
	whatsmeow.WACertPubKey = simtest.RootKey()
	wa.ConfigureDeviceProps()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "awse2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "awse2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	connectorBin = filepath.Join(dir, "connector")
	args := []string{"build", "-o", connectorBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "github.com/wagate/wagate/connector/cmd/connector")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "awse2e: build the connector:", err)
		return 1
	}
	return m.Run()
}
