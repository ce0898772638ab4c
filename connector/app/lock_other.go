//go:build !unix

package app

import (
	"fmt"
	"os"
)

// lockFile opens path without locking it: this platform has no flock. Do not start
// two wagate processes on one data folder.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("WAGATE_DATA: open lock file: %w", err)
	}
	return f, nil
}
