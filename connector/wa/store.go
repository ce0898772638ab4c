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
// path, with foreign keys on, WAL journaling, synchronous=FULL and a busy timeout,
// and upgrades its schema. The store's own logs go to log under module "store".
//
// synchronous=FULL makes every commit durable (one fsync of the WAL per commit);
// NORMAL, the usual companion of WAL, would survive a crash of the process just as
// well but may lose the last commits to a power cut or a crash of the machine.
// For this store that would roll back Signal state WhatsApp already relies on: a
// ratchet step of a message already sent (the next message then reuses its key and
// the recipient cannot decrypt it), prekeys already uploaded, or a device just
// linked (the session would have to be linked again). The price is a ceiling on
// the commits of all sessions together (about one per sent message): on the
// benchmark machine about 1,000-1,700 messages per second; with NORMAL it was
// 1.5-2 times that (BENCHMARKS.md). With the default pacing of one message per
// second per session that ceiling is above what 1,000 sessions send.
func OpenStore(ctx context.Context, path string, log *slog.Logger) (*sqlstore.Container, error) {
	if path == "" {
		return nil, fmt.Errorf("open whatsmeow store: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)") // see above: durable Signal state
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
