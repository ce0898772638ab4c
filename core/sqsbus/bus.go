package sqsbus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/core"
)

// Client is the part of the SQS API the bus uses. *sqs.Client implements it; a
// wrapper can count or fail calls in tests.
type Client interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Defaults of the Bus settings.
const (
	DefaultWaitTime          = 20 * time.Second // the longest long poll SQS allows
	DefaultVisibilityTimeout = 30 * time.Second
	DefaultRetryDelay        = 5 * time.Second
	DefaultWorkers           = 8
)

// Bus sends, consumes and publishes through SQS. It is safe for concurrent use. Set
// the exported fields before the first call; New fills in the defaults.
type Bus struct {
	// CommandsURL is the FIFO commands queue (SendCommand, ConsumeCommands).
	CommandsURL string
	// EventsURL is the standard events queue (PublishEvent).
	EventsURL string
	// WaitTime is the long-poll wait of each receive, whole seconds up to 20.
	WaitTime time.Duration
	// VisibilityTimeout hides a received command from other consumers; it is extended
	// every third of it while the handler runs. Whole seconds, at least 1.
	VisibilityTimeout time.Duration
	// RetryDelay is how soon a command whose handler failed becomes visible again.
	// Whole seconds; 0 retries at once.
	RetryDelay time.Duration
	// Workers is how many commands one ConsumeCommands call handles at once, each
	// from a different session.
	Workers int

	client Client
	log    *slog.Logger
}

// Compile-time checks that Bus implements the ports.
var (
	_ core.CommandSender   = (*Bus)(nil)
	_ core.CommandConsumer = (*Bus)(nil)
	_ core.EventPublisher  = (*Bus)(nil)
)

// New returns a bus on the given queues with the default settings. log receives
// one line per failed command (never its payload); nil discards them.
func New(client Client, commandsURL, eventsURL string, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{
		CommandsURL: commandsURL, EventsURL: eventsURL,
		WaitTime: DefaultWaitTime, VisibilityTimeout: DefaultVisibilityTimeout,
		RetryDelay: DefaultRetryDelay, Workers: DefaultWorkers,
		client: client, log: log,
	}
}

// SendCommand enqueues c on the commands queue with the session as message group
// (commands of one session are delivered in order) and c.ID as deduplication id
// (a command id sent twice within SQS's five-minute window is delivered once).
func (b *Bus) SendCommand(ctx context.Context, c core.Command) error {
	if c.ID == "" || c.Tenant == "" || c.Type == "" {
		return core.Errorf(core.CodeInvalid, "a command needs an id, a tenant and a type")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode command: %w", err)
	}
	_, err = b.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(b.CommandsURL),
		MessageBody:            aws.String(string(body)),
		MessageGroupId:         aws.String(sqsID(c.GroupID())),
		MessageDeduplicationId: aws.String(sqsID(c.ID)),
	})
	if err != nil {
		return fmt.Errorf("send command: %w", err)
	}
	return nil
}

// PublishEvent sends e as JSON to the events queue. An error means the event was
// not accepted; the caller decides whether to retry.
func (b *Bus) PublishEvent(ctx context.Context, e core.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = b.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(b.EventsURL), MessageBody: aws.String(string(body)),
	})
	if err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	return nil
}

// sqsID returns v if SQS accepts it as a message group or deduplication id (1 to 128
// printable ASCII characters), else a stable digest of it, so that any tenant name
// keeps its commands in one ordered group.
func sqsID(v string) string {
	ok := len(v) > 0 && len(v) <= 128
	for i := 0; ok && i < len(v); i++ {
		ok = v[i] > ' ' && v[i] < 0x7f
	}
	if ok {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// seconds converts d to whole seconds for the SQS API, rounding up so a short
// positive duration never becomes 0.
func seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}
