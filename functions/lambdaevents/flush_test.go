package lambdaevents

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/core/metrics"
)

func TestFlushAfterWritesEachInvocationsMetrics(t *testing.T) {
	rec := &metrics.Recorder{}
	emf := metrics.NewEMF(rec, nil)
	h := flushAfter(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		emf.Count(metrics.WebhookDeliveries, 1)
		return events.SQSEventResponse{}, nil
	}, emf, slog.New(slog.DiscardHandler))
	for i := 1; i <= 2; i++ {
		if _, err := h(context.Background(), events.SQSEvent{}); err != nil {
			t.Fatal(err)
		}
		if got := rec.Sum(metrics.WebhookDeliveries); got != float64(i) {
			t.Fatalf("after invocation %d: %v deliveries written, want %d (no metric may wait for a later invocation)", i, got, i)
		}
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
}
