// Package sqsbus carries commands and events over SQS (the split deployment):
// core.CommandSender and core.CommandConsumer on the FIFO commands queue, and
// core.EventPublisher on the standard events queue.
//
// Commands: the body is the JSON envelope of core.Command, the message group is
// the session (Command.GroupID) and the deduplication id is the command id, so one
// session's commands are delivered in order and a command sent twice within five
// minutes is delivered once. The consumer long-polls (WaitTime, 20 s by default)
// with several workers, one message per receive; it extends the visibility of a
// message while its handler runs, deletes it only after the handler returned nil,
// and otherwise makes it visible again after RetryDelay. The queue's redrive
// policy (maxReceiveCount) moves a command that keeps failing, or a body that is
// not a command envelope, to the dead-letter queue; every failed attempt is logged
// with the command's id and type, never its payload.
//
// Events: the body is the JSON of core.Event; the events function consumes the
// queue and fans out webhooks.
//
// CreateQueues makes the four queues for development and tests with the attributes
// template.yaml declares: <name>-commands.fifo (FIFO, content-based deduplication
// off, visibility 30 s, redrive to <name>-commands-dlq.fifo) and <name>-events
// (redrive to <name>-events-dlq).
//
// The SQS emulator used by the tests (fauxqs 1.9.2) differs from SQS in ways the
// tests cannot see: it returns at most one message per FIFO group per receive
// (the consumer asks for one message per receive anyway, so a failing command
// never takes the commands queued behind it through their receives), it accepts
// any receipt handle on DeleteMessage, and it does not check the characters of
// group and deduplication ids (sqsID keeps them within what SQS accepts). The
// tests check what the bus relies on: group locking while a message is in flight,
// deduplication by id, visibility changes, receive counts and redrive to the
// dead-letter queue.
package sqsbus
