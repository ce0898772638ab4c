package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wagate/wagate/core/dynamo"
	"github.com/wagate/wagate/core/sqsbus"
	"github.com/wagate/wagate/functions/internal/awsenv"
	"github.com/wagate/wagate/functions/lambdaapi"
	"github.com/wagate/wagate/functions/lambdaevents"
)

// createResources is `devapi create-resources [-table T] [-prefix P]`: it creates the
// state table and the queues (<P>-commands.fifo, <P>-events and their dead-letter
// queues) if they do not exist, with the attributes template.yaml declares, and prints
// their names and URLs as shell assignments for the other processes' environment:
// queues are named by the exact URL SQS returns, which a script cannot guess.
func createResources(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devapi create-resources", flag.ContinueOnError)
	fs.SetOutput(stderr)
	table := fs.String("table", "wagate-state", "state table `name`")
	prefix := fs.String("prefix", "wagate", "queue name `prefix`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *table == "" || *prefix == "" {
		return errors.New("usage: devapi create-resources [-table name] [-prefix name]")
	}
	awsCfg, err := awsenv.Config(getenv)
	if err != nil {
		return err
	}
	if err := dynamo.CreateTable(ctx, awsenv.DynamoDB(awsCfg, getenv), *table); err != nil {
		return err
	}
	cmds, cmdsDLQ, events, eventsDLQ, err := sqsbus.CreateQueues(ctx, awsenv.SQS(awsCfg, getenv), *prefix, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s=%s\n%s=%s\n%s=%s\nWAGATE_COMMANDS_DLQ_URL=%s\nWAGATE_EVENTS_DLQ_URL=%s\n",
		lambdaapi.EnvStateTable, *table, lambdaapi.EnvCommandsQueueURL, cmds,
		lambdaevents.EnvEventsQueueURL, events, cmdsDLQ, eventsDLQ)
	return nil
}
