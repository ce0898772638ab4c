package wa

import (
	"net/http"

	signalLogger "go.mau.fi/libsignal/logger"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/store"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// Browser is how a linked wagate device is listed on the phone ("Chrome (Windows)").
const (
	BrowserName = "Chrome"
	OSName      = "Windows"
)

// PairDisplayName is the client name sent with a pairing-code request.
const PairDisplayName = BrowserName + " (" + OSName + ")"

// ConfigureDeviceProps sets whatsmeow's process-wide device properties: a Chrome
// browser on Windows, no full history sync and the smallest history the phone
// allows. It also installs libsignal's process-wide logger, which libsignal would
// otherwise create lazily on first use — a data race when two sessions decrypt or
// create devices at once. Call it once in main (or TestMain) before the first client
// is created.
func ConfigureDeviceProps() {
	var quiet signalLogger.Loggable = quietSignal{}
	signalLogger.Setup(&quiet)
	store.SetOSInfo(OSName, [3]uint32{10, 0, 0})
	store.DeviceProps.PlatformType = waCompanionReg.DeviceProps_CHROME.Enum()
	store.DeviceProps.RequireFullSync = proto.Bool(false)
	store.DeviceProps.HistorySyncConfig = &waCompanionReg.DeviceProps_HistorySyncConfig{
		FullSyncDaysLimit:             proto.Uint32(0),
		FullSyncSizeMbLimit:           proto.Uint32(0),
		StorageQuotaMb:                proto.Uint32(10),
		InlineInitialPayloadInE2EeMsg: proto.Bool(true),
		RecentSyncDaysLimit:           proto.Uint32(1),
		SupportCallLogHistory:         proto.Bool(false),
		SupportGroupHistory:           proto.Bool(false),
	}
}

// NewClient returns a whatsmeow client for device that dials through httpClient, with
// wagate's choices:
//   - whatsmeow's own reconnect is off: the session supervisor reconnects with its
//     backoff schedule;
//   - history sync blobs are never downloaded;
//   - WhatsApp is acked only after every event handler returned (SynchronousAck): a
//     handler returning false leaves a message unacked, so WhatsApp redelivers it;
//   - the client never announces itself online (it never sends presence).
func NewClient(device *store.Device, httpClient *http.Client, log waLog.Logger) *whatsmeow.Client {
	cli := whatsmeow.NewClient(device, log)
	cli.EnableAutoReconnect = false
	cli.InitialAutoReconnect = false
	cli.ManualHistorySyncDownload = true
	cli.SynchronousAck = true
	cli.EmitAppStateEventsOnFullSync = false
	cli.AutomaticMessageRerequestFromPhone = false
	if httpClient != nil {
		cli.SetPreLoginHTTPClient(httpClient)
		cli.SetWebsocketHTTPClient(httpClient)
		cli.SetMediaHTTPClient(httpClient)
	}
	return cli
}

// quietSignal drops libsignal's own log lines: they go to stdout unstructured, and
// whatsmeow already logs every decryption failure through the session's logger.
type quietSignal struct{}

func (quietSignal) Debug(string, string)   {}
func (quietSignal) Info(string, string)    {}
func (quietSignal) Warning(string, string) {}
func (quietSignal) Error(string, string)   {}
func (quietSignal) Configure(string)       {}
