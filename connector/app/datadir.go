package app

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wagate/wagate/connector/manager"
)

// ErrDataDirBusy is returned by Run when another process uses the data folder.
var ErrDataDirBusy = errors.New("WAGATE_DATA: another wagate process uses this data folder")

// maxIDFile bounds what is read from the connector id file.
const maxIDFile = 256

// openDataDir creates the data folder (mode 0700) and locks it for this process, so
// two processes never share one SQLite state and one connector id.
func openDataDir(dir string) (io.Closer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("WAGATE_DATA: create %s: %w", dir, err)
	}
	lock, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	return lock, nil
}

// connectorID returns the connector id kept in the data folder, creating it on first
// start. A stable id lets a restarted process take back its own session leases at
// once, even after a crash, instead of waiting for them to expire; the data folder
// lock keeps it unique among running processes.
func connectorID(dir string) (string, error) {
	path := filepath.Join(dir, "connector-id")
	data, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(data))
		if id != "" && len(id) <= maxIDFile && !strings.ContainsAny(id, " \t\r\n") {
			return id, nil
		}
		return "", fmt.Errorf("connector id file %s is damaged; delete it to get a new id", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read connector id: %w", err)
	}
	id := manager.NewConnectorID()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write connector id: %w", err)
	}
	return id, nil
}

// privateFile makes sure the database file at path exists with mode 0600 before SQLite
// opens it: SQLite creates a missing file (and its -wal/-shm companions, which copy the
// main file's mode) world-readable under the usual umask, and these files hold session
// keys and message texts.
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("restrict %s to its owner: %w", path, err)
	}
	return nil
}
