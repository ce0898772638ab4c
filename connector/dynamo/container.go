package dynamo

import (
	"context"
	"errors"
	"fmt"
	mathRand "math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"
	"go.mau.fi/util/random"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Container keeps whatsmeow devices and their key material in one DynamoDB table.
// It plays the role of sqlstore.Container: NewDevice, GetDevice and friends hand out
// store.Device values whose stores are backed by the table.
type Container struct {
	t      *table
	count  *counter
	log    waLog.Logger
	now    func() time.Time
	LIDMap *LIDMap
}

var _ store.DeviceContainer = (*Container)(nil)

// ErrDeviceIDMustBeSet is returned by PutDevice and DeleteDevice for a device whose JID is not known yet.
var ErrDeviceIDMustBeSet = errors.New("device JID must be known before accessing the store")

// ErrInvalidLength is returned when a stored key has an impossible length (a damaged item).
var ErrInvalidLength = errors.New("stored value has an invalid length")

// New wraps client and the table named tableName in a Container. The logger can be nil.
// Every call to DynamoDB is counted; see Stats.
func New(client API, tableName string, log waLog.Logger) *Container {
	if log == nil {
		log = waLog.Noop
	}
	cnt := newCounter(client)
	t := &table{api: cnt, name: aws.String(tableName)}
	return &Container{t: t, count: cnt, log: log, now: time.Now, LIDMap: newLIDMap(t)}
}

// Stats returns the DynamoDB calls and consumed capacity units counted since New.
func (c *Container) Stats() Stats { return c.count.snapshot() }

const devicesPK = "devices"

func devicePK(jid types.JID) string { return "dev#" + jid.String() }

// NewDevice creates a new device with fresh keys. Nothing is stored before Save
// (whatsmeow saves it itself after pairing).
func (c *Container) NewDevice() *store.Device {
	device := &store.Device{
		Log:            c.log,
		Container:      c,
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    keys.NewKeyPair(),
		RegistrationID: mathRand.Uint32(),
		AdvSecretKey:   random.Bytes(32),
	}
	device.SignedPreKey = device.IdentityKey.CreateSignedPreKey(1)
	return device
}

// GetAllDevices returns every stored device, ordered by JID.
func (c *Container) GetAllDevices(ctx context.Context) ([]*store.Device, error) {
	devices := make([]*store.Device, 0)
	var scanErr error
	err := c.t.queryPrefix(ctx, devicesPK, "", false, false, 0, func(it item) bool {
		dev, err := c.scanDevice(it)
		if err != nil {
			scanErr = err
			return false
		}
		devices = append(devices, dev)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, scanErr
}

// GetFirstDevice returns the first stored device, or a new unsaved one when there is none.
func (c *Container) GetFirstDevice(ctx context.Context) (*store.Device, error) {
	devices, err := c.GetAllDevices(ctx)
	if err != nil {
		return nil, err
	}
	if len(devices) == 0 {
		return c.NewDevice(), nil
	}
	return devices[0], nil
}

// GetDevice returns the device with the given AD-JID. When there is no such device it
// returns nil and a nil error, as sqlstore does.
func (c *Container) GetDevice(ctx context.Context, jid types.JID) (*store.Device, error) {
	it, err := c.t.get(ctx, devicesPK, jid.String())
	if err != nil {
		return nil, fmt.Errorf("get device: %w", err)
	}
	if it == nil {
		return nil, nil
	}
	return c.scanDevice(it)
}

// PutDevice stores the device. Like sqlstore it inserts every field the first time and
// afterwards only updates the LID, platform, business name, push name and LID migration
// timestamp: the keys of a stored device never change. It is called through Device.Save.
func (c *Container) PutDevice(ctx context.Context, device *store.Device) error {
	if device.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	if device.Account == nil || device.SignedPreKey == nil || device.SignedPreKey.Signature == nil {
		return errors.New("put device: device has no account or signed prekey")
	}
	lid := ""
	if !device.LID.IsEmpty() {
		lid = device.LID.String()
	}
	values := item{
		":lid": attrS(lid), ":platform": attrS(device.Platform), ":biz": attrS(device.BusinessName),
		":push": attrS(device.PushName), ":lidmig": attrN(device.LIDMigrationTimestamp),
		":regid": attrU(uint64(device.RegistrationID)), ":noise": attrB(device.NoiseKey.Priv[:]),
		":ident": attrB(device.IdentityKey.Priv[:]), ":spk": attrB(device.SignedPreKey.Priv[:]),
		":spkid": attrU(uint64(device.SignedPreKey.KeyID)), ":spksig": attrB(device.SignedPreKey.Signature[:]),
		":advkey": attrB(device.AdvSecretKey), ":advdet": attrB(device.Account.Details),
		":advasig": attrB(device.Account.AccountSignature), ":advakey": attrB(device.Account.AccountSignatureKey),
		":advdsig": attrB(device.Account.DeviceSignature), ":fb": attrS(""),
	}
	if device.FacebookUUID != uuid.Nil {
		values[":fb"] = attrS(device.FacebookUUID.String())
	}
	// Attribute names go through placeholders so that none can clash with a reserved word.
	names := map[string]string{}
	var sets []string
	for _, f := range []string{"lid", "platform", "biz", "push", "lidmig"} {
		names["#"+f] = f
		sets = append(sets, fmt.Sprintf("#%[1]s = :%[1]s", f))
	}
	for _, f := range []string{"regid", "noise", "ident", "spk", "spkid", "spksig", "advkey", "advdet", "advasig", "advakey", "advdsig", "fb"} {
		names["#"+f] = f
		sets = append(sets, fmt.Sprintf("#%[1]s = if_not_exists(#%[1]s, :%[1]s)", f))
	}
	expr := "SET " + strings.Join(sets, ", ")
	if err := c.t.update(ctx, devicesPK, device.ID.String(), expr, "", names, values); err != nil {
		return fmt.Errorf("put device: %w", err)
	}
	if !device.Initialized {
		c.initializeDevice(device)
	}
	return nil
}

// DeleteDevice removes the device and every item of its partition: identities,
// sessions, prekeys, sender keys, app state, contacts, chat settings, message secrets,
// privacy tokens and the event buffer (sqlstore keeps privacy tokens; a logged-out
// device has no use for them). The partition is wiped before the device item goes, so
// a failed delete can be retried: the device is still listed until it is complete.
// Afterwards the device's stores refuse writes, and a later Save with a new JID
// attaches fresh stores. It is called through Device.Delete.
func (c *Container) DeleteDevice(ctx context.Context, device *store.Device) error {
	if device.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	if ds, ok := device.Identities.(*DeviceStore); ok && ds.pk == devicePK(*device.ID) {
		ds.markDeleted()
	}
	n, err := c.t.deletePrefix(ctx, devicePK(*device.ID), "")
	if err != nil {
		return fmt.Errorf("delete device items: %w", err)
	}
	if err := c.t.del(ctx, devicesPK, device.ID.String()); err != nil {
		return fmt.Errorf("delete device: %w", err)
	}
	c.log.Debugf("Deleted device and %d items of its partition", n)
	device.Initialized = false
	return nil
}

func (c *Container) initializeDevice(device *store.Device) {
	s := newDeviceStore(c, *device.ID)
	device.Identities = s
	device.Sessions = s
	device.PreKeys = s
	device.SenderKeys = s
	device.AppStateKeys = s
	device.AppState = s
	device.Contacts = s
	device.ChatSettings = s
	device.MsgSecrets = s
	device.PrivacyTokens = s
	device.EventBuffer = s
	device.LIDs = c.LIDMap
	device.Container = c
	device.Initialized = true
}

func fixed32(b []byte) (*[32]byte, error) {
	if len(b) != 32 {
		return nil, ErrInvalidLength
	}
	return (*[32]byte)(b), nil
}

func (c *Container) scanDevice(it item) (*store.Device, error) {
	jid, err := types.ParseJID(getS(it, attrSK))
	if err != nil {
		return nil, fmt.Errorf("parse device JID: %w", err)
	}
	dev := &store.Device{Log: c.log, ID: &jid}
	if lid := getS(it, "lid"); lid != "" {
		if dev.LID, err = types.ParseJID(lid); err != nil {
			return nil, fmt.Errorf("parse device LID: %w", err)
		}
	}
	noise, err1 := fixed32(getB(it, "noise"))
	ident, err2 := fixed32(getB(it, "ident"))
	spk, err3 := fixed32(getB(it, "spk"))
	spksig := getB(it, "spksig")
	if err := errors.Join(err1, err2, err3); err != nil || len(spksig) != 64 {
		return nil, ErrInvalidLength
	}
	dev.RegistrationID = uint32(getU(it, "regid"))
	dev.NoiseKey = keys.NewKeyPairFromPrivateKey(*noise)
	dev.IdentityKey = keys.NewKeyPairFromPrivateKey(*ident)
	dev.SignedPreKey = &keys.PreKey{
		KeyPair: *keys.NewKeyPairFromPrivateKey(*spk), KeyID: uint32(getU(it, "spkid")),
		Signature: (*[64]byte)(spksig),
	}
	dev.AdvSecretKey = getB(it, "advkey")
	dev.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: getB(it, "advdet"), AccountSignature: getB(it, "advasig"),
		AccountSignatureKey: getB(it, "advakey"), DeviceSignature: getB(it, "advdsig"),
	}
	dev.Platform = getS(it, "platform")
	dev.BusinessName = getS(it, "biz")
	dev.PushName = getS(it, "push")
	dev.LIDMigrationTimestamp = getN(it, "lidmig")
	if fb := getS(it, "fb"); fb != "" {
		if dev.FacebookUUID, err = uuid.Parse(fb); err != nil {
			return nil, fmt.Errorf("parse device facebook UUID: %w", err)
		}
	}
	c.initializeDevice(dev)
	return dev, nil
}
