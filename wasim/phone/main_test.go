package phone_test

import (
	"os"
	"testing"

	signalLogger "go.mau.fi/libsignal/logger"
)

// quietSignal drops libsignal's log lines; the garbage-input tests provoke thousands.
type quietSignal struct{}

func (quietSignal) Debug(string, string)   {}
func (quietSignal) Info(string, string)    {}
func (quietSignal) Warning(string, string) {}
func (quietSignal) Error(string, string)   {}
func (quietSignal) Configure(string)       {}

func TestMain(m *testing.M) {
	var l signalLogger.Loggable = quietSignal{}
	signalLogger.Setup(&l)
	os.Exit(m.Run())
}
