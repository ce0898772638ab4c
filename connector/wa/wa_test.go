package wa_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/connector/wa"
)

func TestLoggerRedactsPhoneNumbersAndCarriesModule(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := wa.NewLogger(log, false).Sub("Socket")
	l.Infof("Updated LID to %s", "15550001111:3@s.whatsapp.net")
	l.Debugf("dropped %d", 1)
	out := buf.String()
	if strings.Contains(out, "15550001111") {
		t.Fatalf("log line leaks the phone number: %s", out)
	}
	for _, want := range []string{`"module":"Socket"`, `***1111:3@s.whatsapp.net`, `"msg":"whatsmeow"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %s lacks %s", out, want)
		}
	}
	if strings.Contains(out, "dropped") {
		t.Errorf("debug line logged although debug is off: %s", out)
	}
	buf.Reset()
	l.Sub("Frame").Warnf("nested")
	if out := buf.String(); strings.Count(out, `"module"`) != 1 || !strings.Contains(out, `"module":"Socket/Frame"`) {
		t.Errorf("a nested sub-logger's line %s, want one module Socket/Frame", out)
	}
	buf.Reset()
	wa.NewLogger(log, true).Debugf("node %s", "x")
	if !strings.Contains(buf.String(), "node x") {
		t.Errorf("debug line missing with debug on: %s", buf.String())
	}
}

func TestMaskJID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"15550001111@s.whatsapp.net", "***1111@s.whatsapp.net"},
		{"15550001111:3@s.whatsapp.net", "***1111@s.whatsapp.net"},
		{"15550001111", "***1111"},
		{"123", "123"},
	}
	for _, tt := range tests {
		if got := wa.MaskJID(tt.in); got != tt.want {
			t.Errorf("MaskJID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseRecipient(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"phone_jid", "15550001111@s.whatsapp.net", "15550001111@s.whatsapp.net", true},
		{"lid", "123456789@lid", "123456789@lid", true},
		{"device_jid_is_reduced", "15550001111:2@s.whatsapp.net", "15550001111@s.whatsapp.net", true},
		{"group_rejected", "1203630@g.us", "", false},
		{"empty_rejected", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := wa.ParseRecipient(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseRecipient(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && got.String() != tt.want {
				t.Errorf("ParseRecipient(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDeviceJIDRoundTrip(t *testing.T) {
	jid := types.JID{User: "15550001111", Device: 3, Server: types.DefaultUserServer}
	s := wa.MakeDeviceJID(jid)
	back, err := wa.ParseDeviceJID(s)
	if err != nil || back != jid {
		t.Fatalf("ParseDeviceJID(MakeDeviceJID(%v)) = %v, %v", jid, back, err)
	}
	if got := wa.MakeUserJID(jid); got != "15550001111@s.whatsapp.net" {
		t.Errorf("MakeUserJID = %q", got)
	}
}

func TestOpenStoreKeepsADeviceAcrossReopen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "wa.db")
	c, err := wa.OpenStore(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := c.NewDevice()
	jid := types.JID{User: "15550001111", Device: 4, Server: types.DefaultUserServer}
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64), AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := dev.Save(ctx); err != nil {
		t.Fatalf("save device: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2, err := wa.OpenStore(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.GetDevice(ctx, jid)
	if err != nil || got == nil {
		t.Fatalf("GetDevice after reopen = %v, %v", got, err)
	}
	if *got.NoiseKey.Priv != *dev.NoiseKey.Priv {
		t.Error("the reopened device has other keys")
	}
	if err := got.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if gone, err := c2.GetDevice(ctx, jid); err != nil || gone != nil {
		t.Errorf("GetDevice after Delete = %v, %v; want nil, nil", gone, err)
	}
}

func TestConfigureDevicePropsPresentsChromeOnWindows(t *testing.T) {
	wa.ConfigureDeviceProps()
	if store.DeviceProps.GetPlatformType() != waCompanionReg.DeviceProps_CHROME {
		t.Errorf("platform = %v", store.DeviceProps.GetPlatformType())
	}
	if store.DeviceProps.GetOs() != "Windows" || store.DeviceProps.GetRequireFullSync() {
		t.Errorf("os = %q, requireFullSync = %v", store.DeviceProps.GetOs(), store.DeviceProps.GetRequireFullSync())
	}
	cli := wa.NewClient(&store.Device{}, nil, nil)
	if cli.EnableAutoReconnect || !cli.SynchronousAck || !cli.ManualHistorySyncDownload {
		t.Errorf("client: autoReconnect=%v synchronousAck=%v manualHistory=%v",
			cli.EnableAutoReconnect, cli.SynchronousAck, cli.ManualHistorySyncDownload)
	}
}
