package wa

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	// The CGO-free SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// busyTimeoutMS is how long a SQLite writer waits for a lock before failing.
const busyTimeoutMS = 10000

// OpenStore opens (creating if needed) the whatsmeow key store in the SQLite file at
// path, with foreign keys on, WAL journaling and a busy timeout, and upgrades its
// schema. The store's own logs go to log under module "store".
func OpenStore(ctx context.Context, path string, log *slog.Logger) (*sqlstore.Container, error) {
	if path == "" {
		return nil, fmt.Errorf("open whatsmeow store: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open whatsmeow store: %w", err)
	}
	// One writer at a time avoids SQLITE_BUSY storms; WAL keeps readers unblocked.
	db.SetMaxOpenConns(4)
	container := sqlstore.NewWithDB(db, "sqlite", NewLogger(log, false).Sub("store"))
	if err := container.Upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("upgrade whatsmeow store: %w", err)
	}
	return container, nil
}

// DeviceStore is the part of the whatsmeow key store a session supervisor needs.
// *sqlstore.Container implements it.
type DeviceStore interface {
	// NewDevice returns a fresh, unsaved device: whatsmeow saves it once paired.
	NewDevice() *store.Device
	// GetDevice returns the saved device with that AD-JID, or nil, nil when there is none.
	GetDevice(ctx context.Context, jid types.JID) (*store.Device, error)
}

var _ DeviceStore = (*sqlstore.Container)(nil)
