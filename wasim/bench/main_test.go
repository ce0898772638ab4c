package bench

import (
	"fmt"
	"os"
	"testing"

	"go.mau.fi/whatsmeow"

	"github.com/wagate/wagate/wasim/wire"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	id, err := wire.NewIdentityFromSeed(benchSeed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: derive identity:", err)
		os.Exit(2)
	}
	// Every benchmark server derives its identity from benchSeed; whatsmeow reads
	// this global on each handshake, so it is set once, before any client exists.
	whatsmeow.WACertPubKey = id.RootPublicKey()
	os.Exit(m.Run())
}
