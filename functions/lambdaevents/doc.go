// Package lambdaevents is the events function of the split deployment: it consumes
// the SQS events queue that the connector publishes to and delivers each event to
// the webhook of its session (package webhook).
//
// A batch is handled in parallel. An event whose delivery fails is reported as a
// batch item failure (the event source mapping has ReportBatchItemFailures), so only
// that message comes back; when the queue URL is configured its visibility is set
// to a backoff that doubles with each receive (30 s, 1 min, 2 min, ...), and after
// the queue's maxReceiveCount receives SQS moves it to the events dead-letter queue.
// Events of sessions that have no webhook or no longer exist are done with. A
// message that is not an event is reported as failed too, so it ends in the
// dead-letter queue where it can be inspected rather than vanish.
//
// Every log line is JSON on stdout with the Lambda request id as request_id; the
// webhook secret and webhook URLs' paths are never logged.
package lambdaevents
