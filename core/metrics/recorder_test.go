package metrics_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/core/metrics"
)

func TestRecorderJoinsPartialWritesAndReportsInvalidLines(t *testing.T) {
	rec := &metrics.Recorder{}
	line := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Wagate","Dimensions":[["Status"]],"Metrics":[{"Name":"Sessions","Unit":"Count"}]}]},"Status":"connected","Sessions":3}` + "\n"
	for _, part := range []string{line[:10], line[10:50], line[50:]} {
		if _, err := rec.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	if v, ok := rec.Last(metrics.Sessions, metrics.D(metrics.DimStatus, "connected")); !ok || v != 3 {
		t.Errorf("sessions connected = %v, %v; want 3", v, ok)
	}
	if v := rec.Values(metrics.Sessions); v != nil {
		t.Errorf("values without the dimension: %v, want none (dimensions must match exactly)", v)
	}
	if _, ok := rec.Last(metrics.Connects); ok {
		t.Error("a reading of a metric never written")
	}
	_, _ = rec.Write([]byte("{\"event\":\"not metrics\"}\n\n"))
	if err := rec.Err(); err == nil || !strings.Contains(err.Error(), "_aws") {
		t.Errorf("Err = %v, want the invalid line reported", err)
	}
	if n := len(rec.Lines()); n != 2 {
		t.Errorf("%d lines, want 2 (blank lines skipped)", n)
	}
}
