package templatetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makeTarget prints the commands of a Makefile target without running them.
func makeTarget(t *testing.T, target string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "-n", "-s", "--no-print-directory", target, "ARTIFACTS_DIR=/artifacts")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("make -n %s: %v\n%s", target, err, out)
	}
	return string(out)
}

var cmdDir = regexp.MustCompile(`\./cmd/([a-z0-9-]+)`)

func TestFunctionsBuildForArm64(t *testing.T) {
	tp := load(t)
	ids := tp.ofType("AWS::Serverless::Function")
	if len(ids) < 5 {
		t.Fatalf("template has %d functions, want the four API functions and the events consumer", len(ids))
	}
	globals := asMap(asMap(tp["Globals"])["Function"])
	built := map[string]string{}
	for _, id := range ids {
		p := tp.functionProps(id)
		if p["Runtime"] != "provided.al2023" {
			t.Errorf("%s: Runtime %v, want provided.al2023", id, p["Runtime"])
		}
		if a := asList(p["Architectures"]); len(a) != 1 || a[0] != "arm64" {
			t.Errorf("%s: Architectures %v, want [arm64]", id, p["Architectures"])
		}
		if globals["Architectures"] != nil && tp.props(id)["Architectures"] != nil {
			t.Errorf("%s: Architectures in Globals and in the function (SAM concatenates the lists)", id)
		}
		if p["Handler"] != "bootstrap" {
			t.Errorf("%s: Handler %v, want bootstrap", id, p["Handler"])
		}
		if bm := asMap(tp.resources()[id]["Metadata"])["BuildMethod"]; bm != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod %v, want makefile", id, bm)
		}

		out := makeTarget(t, "build-"+id)
		for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", "-s -w", "/artifacts/bootstrap"} {
			if !strings.Contains(out, want) {
				t.Errorf("make build-%s does not pass %q:\n%s", id, want, out)
			}
		}
		m := cmdDir.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("make build-%s builds no ./cmd/<name>:\n%s", id, out)
			continue
		}
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", "cmd", m[1], "main.go")); err != nil {
			t.Errorf("make build-%s builds ./cmd/%s, which does not exist", id, m[1])
		}
		built[m[1]] = id
	}
	entries, err := os.ReadDir(filepath.Join(repoRoot, "functions", "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	// devapi runs the Lambda handlers behind a local HTTP server (make run-split): it
	// is a development tool, never deployed.
	devOnly := map[string]bool{"devapi": true}
	for _, e := range entries {
		if e.IsDir() && !devOnly[e.Name()] && built[e.Name()] == "" {
			t.Errorf("functions/cmd/%s is not deployed by any function of the template", e.Name())
		}
	}
}

func TestFunctionsLogWithRetention(t *testing.T) {
	tp := load(t)
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		group := target(asMap(tp.functionProps(id)["LoggingConfig"])["LogGroup"])
		if tp.resources()[group]["Type"] != "AWS::Logs::LogGroup" {
			t.Errorf("%s: LoggingConfig.LogGroup names %q, not a log group of the template", id, group)
			continue
		}
		if target(tp.props(group)["RetentionInDays"]) != "LogRetentionDays" {
			t.Errorf("%s: log group %s does not keep logs for LogRetentionDays", id, group)
		}
	}
	for _, id := range tp.ofType("AWS::Logs::LogGroup") {
		if target(tp.props(id)["RetentionInDays"]) != "LogRetentionDays" {
			t.Errorf("log group %s does not keep logs for LogRetentionDays", id)
		}
	}
}

func TestFunctionEnvironment(t *testing.T) {
	tp := load(t)
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		vars := asMap(asMap(tp.functionProps(id)["Environment"])["Variables"])
		if tp.resources()[target(vars["WAGATE_STATE_TABLE"])]["Type"] != "AWS::DynamoDB::Table" {
			t.Errorf("%s: WAGATE_STATE_TABLE is %v, not a table", id, vars["WAGATE_STATE_TABLE"])
		}
		if len(sqsEvents(tp, id)) > 0 {
			if vars["WAGATE_WEBHOOK_SECRET"] == nil || target(vars["WAGATE_WEBHOOK_SECRET"]) != "WebhookSecret" {
				t.Errorf("%s: WAGATE_WEBHOOK_SECRET must come from the WebhookSecret parameter", id)
			}
			continue
		}
		q := target(vars["WAGATE_COMMANDS_QUEUE_URL"])
		if fifo := tp.props(q)["FifoQueue"]; fifo != true {
			t.Errorf("%s: WAGATE_COMMANDS_QUEUE_URL is %v, not a FIFO queue", id, vars["WAGATE_COMMANDS_QUEUE_URL"])
		}
		if target(vars["TENANT_CLAIM"]) != "TenantClaim" {
			t.Errorf("%s: TENANT_CLAIM is %v, want the TenantClaim parameter", id, vars["TENANT_CLAIM"])
		}
	}
}

// sqsEvents returns a function's SQS event sources.
func sqsEvents(tp tmpl, id string) []map[string]any {
	var out []map[string]any
	for _, ev := range asMap(tp.props(id)["Events"]) {
		if asMap(ev)["Type"] == "SQS" {
			out = append(out, asMap(asMap(ev)["Properties"]))
		}
	}
	return out
}

func TestQueues(t *testing.T) {
	tp := load(t)
	queues := tp.ofType("AWS::SQS::Queue")
	dlqs := map[string]bool{}
	for _, id := range queues {
		if rp := asMap(tp.props(id)["RedrivePolicy"]); rp != nil {
			dlqs[target(rp["deadLetterTargetArn"])] = true
		}
	}
	if len(queues) != 4 {
		t.Errorf("template has queues %v, want commands and events with a DLQ each", queues)
	}
	for _, id := range queues {
		p := tp.props(id)
		if dlqs[id] {
			if p["RedrivePolicy"] != nil {
				t.Errorf("dead-letter queue %s has a dead-letter queue itself", id)
			}
			continue
		}
		rp := asMap(p["RedrivePolicy"])
		dlq := target(rp["deadLetterTargetArn"])
		if tp.resources()[dlq]["Type"] != "AWS::SQS::Queue" {
			t.Errorf("queue %s has no dead-letter queue (RedrivePolicy.deadLetterTargetArn %v)", id, rp["deadLetterTargetArn"])
			continue
		}
		if rp["maxReceiveCount"] != 5 {
			t.Errorf("queue %s: maxReceiveCount %v, want 5", id, rp["maxReceiveCount"])
		}
		if (p["FifoQueue"] == true) != (tp.props(dlq)["FifoQueue"] == true) {
			t.Errorf("queue %s and its dead-letter queue %s differ in FifoQueue", id, dlq)
		}
	}
}

func TestEventSourcesReportBatchFailures(t *testing.T) {
	tp := load(t)
	consumers := 0
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		timeout, _ := tp.functionProps(id)["Timeout"].(int)
		for _, ev := range sqsEvents(tp, id) {
			consumers++
			q := target(ev["Queue"])
			vis, _ := tp.props(q)["VisibilityTimeout"].(int)
			if timeout == 0 || vis < 6*timeout {
				t.Errorf("%s consumes %s: visibility timeout %d s, want at least 6 x the function timeout %d s", id, q, vis, timeout)
			}
			types := asList(ev["FunctionResponseTypes"])
			if len(types) != 1 || types[0] != "ReportBatchItemFailures" {
				t.Errorf("%s: FunctionResponseTypes %v, want [ReportBatchItemFailures]", id, types)
			}
		}
	}
	if consumers != 1 {
		t.Errorf("%d SQS event sources, want 1 (the events queue)", consumers)
	}
}
