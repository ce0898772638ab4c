package metrics_test

import (
	"os"
	"time"

	"github.com/wagate/wagate/core/metrics"
)

func ExampleEMF() {
	e := metrics.NewEMF(os.Stdout, func() time.Time { return time.UnixMilli(1767225600000) })
	e.Count(metrics.FatalEvents, 1, metrics.D(metrics.DimReason, "outdated"))
	_ = e.Flush()
	// Output:
	// {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[{"Namespace":"Wagate","Dimensions":[["Reason"]],"Metrics":[{"Name":"FatalEvents","Unit":"Count"}]}]},"Reason":"outdated","FatalEvents":1}
}
