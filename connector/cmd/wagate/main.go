// Command wagate is the local all-in-one WhatsApp connector: the HTTP API, the admin
// page and the WhatsApp sessions in one process, with SQLite in a data folder.
//
//	wagate              serve (configured by WAGATE_* environment variables)
//	wagate healthcheck  exit 0 when the wagate at WAGATE_ADDR is healthy, else 1
//	wagate env          print the documented example configuration
//
// See .env.example for every variable.
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wagate/wagate/connector/app"
)

//go:embed .env.example
var envExample string

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches the subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(stdout, stderr)
	case "healthcheck":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addr := app.DefaultConfig().Addr
		if v, ok := os.LookupEnv("WAGATE_ADDR"); ok && v != "" {
			addr = v
		}
		if err := app.Healthcheck(ctx, addr); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	case "env":
		fmt.Fprint(stdout, envExample)
		return 0
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: wagate [serve|healthcheck|env]; configuration: wagate env")
		return 0
	}
	fmt.Fprintf(stderr, "wagate: unknown command %q; usage: wagate [serve|healthcheck|env]\n", cmd)
	return 2
}

// serve runs wagate until SIGINT or SIGTERM.
func serve(stdout, stderr io.Writer) int {
	cfg, err := app.FromEnv(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "wagate: %v\n(see `wagate env` for every setting)\n", err)
		return 2
	}
	log, err := app.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "wagate: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := app.PrepareProcess(ctx, cfg); err != nil {
		log.Error("wagate_start_failed", "event", "wagate_start_failed", "outcome", "fail", "error", err)
		return 1
	}

	m := app.NewMain()
	m.Config, m.Logger, m.Stdout, m.Version = cfg, log, stdout, version
	if err := m.Run(ctx); err != nil {
		log.Error("wagate_start_failed", "event", "wagate_start_failed", "outcome", "fail", "error", err)
		return 1
	}
	<-ctx.Done()
	stop() // a second Ctrl-C kills the process at once
	if err := m.Close(); err != nil {
		log.Error("wagate_stop_failed", "event", "wagate_stop_failed", "outcome", "fail", "error", err)
		return 1
	}
	return 0
}
