// Package memstore is an in-memory whatsmeow device store for tests: a Container that
// creates, saves and deletes store.Device values, with every per-device store
// (identities, sessions, prekeys, app state, contacts, …) and the LID map kept in maps.
// Nothing is written to disk, so a test can "restart" a client by building a new
// whatsmeow.Client from the same Container without an SQL driver.
//
// The semantics follow whatsmeow's sqlstore (for example GetSession returns nil, nil
// for a missing session and GetManySessions lists every requested address).
package memstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"

	"go.mau.fi/util/random"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// ErrDeviceIDMustBeSet is returned by PutDevice and DeleteDevice for a device that
// has not been paired yet (its ID is nil).
var ErrDeviceIDMustBeSet = errors.New("memstore: device JID must be known before saving")

// Container holds devices in memory. It is safe for concurrent use.
type Container struct {
	log  waLog.Logger
	lids *LIDMap

	mu      sync.Mutex
	devices map[types.JID]*store.Device
}

var _ store.DeviceContainer = (*Container)(nil)

// New returns an empty container. log may be nil.
func New(log waLog.Logger) *Container {
	if log == nil {
		log = waLog.Noop
	}
	return &Container{log: log, lids: NewLIDMap(), devices: make(map[types.JID]*store.Device)}
}

// NewDevice creates an unpaired device with fresh keys, like sqlstore's NewDevice.
// It is saved by whatsmeow once pairing succeeds.
func (c *Container) NewDevice() *store.Device {
	d := &store.Device{
		Log:            c.log,
		Container:      c,
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    keys.NewKeyPair(),
		RegistrationID: rand.Uint32(),
		AdvSecretKey:   random.Bytes(32),
	}
	d.SignedPreKey = d.IdentityKey.CreateSignedPreKey(1)
	c.attach(d, NewStore(c.lids))
	return d
}

// attach points every per-device store of d at s.
func (c *Container) attach(d *store.Device, s *Store) {
	d.Identities = s
	d.Sessions = s
	d.PreKeys = s
	d.SenderKeys = s
	d.AppStateKeys = s
	d.AppState = s
	d.Contacts = s
	d.ChatSettings = s
	d.MsgSecrets = s
	d.PrivacyTokens = s
	d.EventBuffer = s
	d.LIDs = c.lids
	d.Container = c
	d.Initialized = true
}

// PutDevice saves the device (whatsmeow calls it through Device.Save).
func (c *Container) PutDevice(_ context.Context, d *store.Device) error {
	if d.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := *d
	c.devices[d.ID.ToNonAD()] = &saved
	return nil
}

// DeleteDevice forgets the device (whatsmeow calls it on logout).
func (c *Container) DeleteDevice(_ context.Context, d *store.Device) error {
	if d.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for jid, saved := range c.devices {
		if saved.ID != nil && *saved.ID == *d.ID {
			delete(c.devices, jid)
		}
	}
	return nil
}

// GetDevice returns a copy of the saved device with that JID, as a fresh load from a
// database would, or nil when there is none. The copy shares the device's stores.
func (c *Container) GetDevice(jid types.JID) *store.Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, saved := range c.devices {
		if saved.ID != nil && *saved.ID == jid {
			cp := *saved
			return &cp
		}
	}
	return nil
}

// GetAllDevices returns copies of every saved device, ordered by JID.
func (c *Container) GetAllDevices() []*store.Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*store.Device, 0, len(c.devices))
	for _, saved := range c.devices {
		cp := *saved
		out = append(out, &cp)
	}
	slices.SortFunc(out, func(a, b *store.Device) int {
		if a.ID.String() < b.ID.String() {
			return -1
		}
		return 1
	})
	return out
}

// GetFirstDevice returns the first saved device, or a new unpaired one when none is
// saved, like sqlstore's GetFirstDevice.
func (c *Container) GetFirstDevice() *store.Device {
	if all := c.GetAllDevices(); len(all) > 0 {
		return all[0]
	}
	return c.NewDevice()
}

// LIDs is the container-wide LID↔phone-number map.
func (c *Container) LIDs() *LIDMap { return c.lids }
