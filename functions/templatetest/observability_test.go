package templatetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wagate/wagate/core"
	"github.com/wagate/wagate/core/metrics"
)

// wantAlarm is what one alarm of the template must watch and how.
type wantAlarm struct {
	name      string // AlarmName after the stack name, and the runbook entry
	namespace string
	metric    string
	dims      map[string]string // dimension values; a logical id for Ref/GetAtt values
	stat      string
	op        string
	threshold float64
	missing   string
}

func wantAlarms() map[string]wantAlarm {
	return map[string]wantAlarm{
		"ConnectorNotRunningAlarm": {"connector-not-running", "ECS/ContainerInsights", "RunningTaskCount",
			map[string]string{"ClusterName": "ConnectorCluster", "ServiceName": "ConnectorService"}, "Minimum", "LessThanThreshold", 1, "breaching"},
		"ConnectorNoHeartbeatAlarm": {"connector-no-heartbeat", metrics.Namespace, metrics.Heartbeats,
			nil, "Sum", "LessThanThreshold", 1, "breaching"},
		"SessionOutdatedAlarm": {"session-outdated", metrics.Namespace, metrics.Sessions,
			map[string]string{metrics.DimStatus: string(core.StatusOutdated)}, "Maximum", "GreaterThanThreshold", 0, "notBreaching"},
		"SessionsBannedAlarm": {"sessions-banned", metrics.Namespace, metrics.FatalEvents,
			map[string]string{metrics.DimReason: string(core.StatusBanned)}, "Sum", "GreaterThanThreshold", 0, "notBreaching"},
		"SessionsLoggedOutSpikeAlarm": {"sessions-logged-out-spike", metrics.Namespace, metrics.FatalEvents,
			map[string]string{metrics.DimReason: string(core.StatusLoggedOut)}, "Sum", "GreaterThanOrEqualToThreshold", 3, "notBreaching"},
		"DiagnosticsFailingAlarm": {"diagnostics-failing", metrics.Namespace, metrics.DiagnosticsFailing,
			nil, "Maximum", "GreaterThanThreshold", 0, "notBreaching"},
		"CommandsDeadLetterAlarm": {"commands-dlq", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
			map[string]string{"QueueName": "CommandsDeadLetterQueue"}, "Maximum", "GreaterThanThreshold", 0, "notBreaching"},
		"EventsDeadLetterAlarm": {"events-dlq", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
			map[string]string{"QueueName": "EventsDeadLetterQueue"}, "Maximum", "GreaterThanThreshold", 0, "notBreaching"},
		"CommandsAgeAlarm": {"commands-age", "AWS/SQS", "ApproximateAgeOfOldestMessage",
			map[string]string{"QueueName": "CommandsQueue"}, "Maximum", "GreaterThanThreshold", 120, "notBreaching"},
		"FunctionErrorsAlarm":    {"function-errors", "AWS/Lambda", "Errors", nil, "Sum", "GreaterThanThreshold", 0, "notBreaching"},
		"FunctionThrottlesAlarm": {"function-throttles", "AWS/Lambda", "Throttles", nil, "Sum", "GreaterThanThreshold", 0, "notBreaching"},
	}
}

// dimValue renders a dimension value: a literal, or the logical id it refers to.
func dimValue(v any) string {
	if id := target(v); id != "" {
		return id
	}
	return fmt.Sprint(v)
}

func TestAlarms(t *testing.T) {
	tp := load(t)
	runbook := readRepo(t, "infra/RUNBOOK.md")
	if p := asMap(asMap(tp["Parameters"])["AlarmTopicArn"]); p["Default"] != "" {
		t.Errorf("AlarmTopicArn %v, want a parameter defaulting to empty (no notifications)", p)
	}
	want := wantAlarms()
	for _, id := range tp.ofType("AWS::CloudWatch::Alarm") {
		if _, ok := want[id]; !ok {
			t.Errorf("alarm %s is not checked here (add it to wantAlarms and the runbook)", id)
		}
	}
	for id, w := range want {
		t.Run(w.name, func(t *testing.T) {
			if tp.resources()[id]["Type"] != "AWS::CloudWatch::Alarm" {
				t.Fatalf("alarm %s is missing", id)
			}
			p := tp.props(id)
			if sub := asMap(p["AlarmName"])["Fn::Sub"]; sub != "${AWS::StackName}-"+w.name {
				t.Errorf("AlarmName %v, want ${AWS::StackName}-%s (the dashboard and runbook use it)", p["AlarmName"], w.name)
			}
			if d, _ := p["AlarmDescription"].(string); !strings.Contains(d, "infra/RUNBOOK.md#"+w.name) {
				t.Errorf("AlarmDescription %q does not point at the runbook entry", d)
			}
			if !regexp.MustCompile(`(?m)^#+ .*` + "`" + regexp.QuoteMeta(w.name) + "`").MatchString(runbook) {
				t.Errorf("infra/RUNBOOK.md has no heading for %s", w.name)
			}
			for _, k := range []string{"AlarmActions", "OKActions"} {
				cond := asList(asMap(p[k])["Fn::If"])
				if len(cond) != 3 || cond[0] != "HasAlarmTopic" || target(asList(cond[1])[0]) != "AlarmTopicArn" {
					t.Errorf("%s %v, want the AlarmTopicArn topic when it is set", k, p[k])
				}
			}
			if p["TreatMissingData"] != w.missing || p["ComparisonOperator"] != w.op || toFloat(p["Threshold"]) != w.threshold {
				t.Errorf("missing data %v, %v %v; want %s, %s %v", p["TreatMissingData"], p["ComparisonOperator"], p["Threshold"], w.missing, w.op, w.threshold)
			}
			if evals := toFloat(p["EvaluationPeriods"]); evals < 1 || evals > 5 {
				t.Errorf("EvaluationPeriods %v: want 1 to 5 (minutes, not hours, at 3 a.m.)", p["EvaluationPeriods"])
			}
			for _, m := range alarmMetrics(p) {
				if m.namespace != w.namespace || m.name != w.metric || (m.stat != w.stat) {
					t.Errorf("watches %s/%s (%s), want %s/%s (%s)", m.namespace, m.name, m.stat, w.namespace, w.metric, w.stat)
				}
				if m.period < 60 || m.period > 900 {
					t.Errorf("period %v s: want 60 to 900", m.period)
				}
				if w.namespace == "AWS/Lambda" {
					continue // every function, checked below
				}
				got := map[string]string{}
				for k, v := range m.dims {
					got[k] = dimValue(v)
				}
				if fmt.Sprint(got) != fmt.Sprint(orEmpty(w.dims)) {
					t.Errorf("dimensions %v, want %v", got, w.dims)
				}
			}
		})
	}
	for _, id := range []string{"FunctionErrorsAlarm", "FunctionThrottlesAlarm"} {
		watched := map[string]bool{}
		for _, m := range alarmMetrics(tp.props(id)) {
			watched[dimValue(m.dims["FunctionName"])] = true
		}
		for _, fn := range tp.ofType("AWS::Serverless::Function") {
			if !watched[fn] {
				t.Errorf("%s does not watch function %s", id, fn)
			}
		}
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return -1
}

// alarmMetric is one metric an alarm watches.
type alarmMetric struct {
	namespace, name, stat string
	period                float64
	dims                  map[string]any
}

// alarmMetrics returns the metrics of a single-metric or a metric-math alarm.
func alarmMetrics(p map[string]any) []alarmMetric {
	dims := func(list any) map[string]any {
		out := map[string]any{}
		for _, d := range asList(list) {
			out[fmt.Sprint(asMap(d)["Name"])] = asMap(d)["Value"]
		}
		return out
	}
	if p["MetricName"] != nil {
		return []alarmMetric{{fmt.Sprint(p["Namespace"]), fmt.Sprint(p["MetricName"]), fmt.Sprint(p["Statistic"]), toFloat(p["Period"]), dims(p["Dimensions"])}}
	}
	var out []alarmMetric
	for _, q := range asList(p["Metrics"]) {
		ms := asMap(asMap(q)["MetricStat"])
		if ms == nil {
			continue
		}
		m := asMap(ms["Metric"])
		out = append(out, alarmMetric{fmt.Sprint(m["Namespace"]), fmt.Sprint(m["MetricName"]), fmt.Sprint(ms["Stat"]), toFloat(ms["Period"]), dims(m["Dimensions"])})
	}
	return out
}

// checkWagateMetric reports a metric of the Wagate namespace that core/metrics does
// not emit, or with a dimension it is not emitted with or a value it never takes.
func checkWagateMetric(name string, dims map[string]string) error {
	def, ok := metrics.Lookup(name)
	if !ok {
		return fmt.Errorf("%s is not a metric core/metrics emits", name)
	}
	for k, v := range dims {
		if !slices.Contains(def.Dims, k) {
			return fmt.Errorf("%s has no dimension %s (it has %v)", name, k, def.Dims)
		}
		var valid []string
		switch k {
		case metrics.DimStatus:
			for _, s := range core.Statuses() {
				valid = append(valid, string(s))
			}
		case metrics.DimReason:
			if name == metrics.FatalEvents {
				valid = []string{"logged_out", "replaced", "banned", "outdated", "failed"}
			}
		case metrics.DimCheck:
			valid = []string{"dns_a", "dns_aaaa", "tcp4", "tcp6", "tls", "websocket"}
		case metrics.DimOutcome:
			valid = []string{"ok", "fail"}
		}
		if valid != nil && !slices.Contains(valid, v) {
			return fmt.Errorf("%s{%s=%s}: the code never emits that value (%v)", name, k, v, valid)
		}
	}
	return nil
}

func TestAlarmsWatchMetricsTheCodeEmits(t *testing.T) {
	tp := load(t)
	for _, id := range tp.ofType("AWS::CloudWatch::Alarm") {
		for _, m := range alarmMetrics(tp.props(id)) {
			if m.namespace != metrics.Namespace {
				continue
			}
			dims := map[string]string{}
			for k, v := range m.dims {
				dims[k] = dimValue(v)
			}
			if err := checkWagateMetric(m.name, dims); err != nil {
				t.Errorf("alarm %s: %v", id, err)
			}
		}
	}
	// The connector writes EMF in ECS (the default there too, but say it).
	for _, c := range asList(tp.props(tp.ofType("AWS::ECS::TaskDefinition")[0])["ContainerDefinitions"]) {
		found := false
		for _, e := range asList(asMap(c)["Environment"]) {
			if asMap(e)["Name"] == "WAGATE_METRICS" && asMap(e)["Value"] == metrics.ModeEMF {
				found = true
			}
		}
		if !found {
			t.Error("the connector container does not set WAGATE_METRICS=emf")
		}
	}
}

func readRepo(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var subPlaceholder = regexp.MustCompile(`\$\{([^}]+)\}`)

func TestDashboardIsInfraDashboardJSON(t *testing.T) {
	tp := load(t)
	ids := tp.ofType("AWS::CloudWatch::Dashboard")
	if len(ids) != 1 {
		t.Fatalf("dashboards %v, want one", ids)
	}
	body, ok := asMap(tp.props(ids[0])["DashboardBody"])["Fn::Sub"].(string)
	if !ok {
		t.Fatalf("DashboardBody %v, want !Sub of infra/dashboard.json", tp.props(ids[0])["DashboardBody"])
	}
	file := readRepo(t, "infra/dashboard.json")
	if strings.TrimSpace(body) != strings.TrimSpace(file) {
		t.Fatal("the template's DashboardBody differs from infra/dashboard.json: copy the file into the template (indented under DashboardBody: !Sub |)")
	}
	var dash struct {
		Widgets []struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(file), &dash); err != nil {
		t.Fatalf("infra/dashboard.json: %v", err)
	}
	for _, m := range subPlaceholder.FindAllStringSubmatch(file, -1) {
		name, _, _ := strings.Cut(m[1], ".")
		if _, ok := tp.resources()[name]; !ok && !strings.HasPrefix(name, "AWS::") {
			t.Errorf("dashboard placeholder ${%s} names no resource of the template", m[1])
		}
	}
	alarmNames := map[string]bool{}
	for _, w := range wantAlarms() {
		alarmNames[w.name] = true
	}
	shown := map[string]bool{}
	for _, w := range dash.Widgets {
		switch w.Type {
		case "alarm":
			for _, a := range asList(w.Properties["alarms"]) {
				_, name, _ := strings.Cut(fmt.Sprint(a), ":alarm:${AWS::StackName}-")
				if !alarmNames[name] {
					t.Errorf("dashboard shows alarm %q, which the template does not define", a)
				}
				shown[name] = true
			}
		case "metric":
			for _, row := range asList(w.Properties["metrics"]) {
				checkDashboardRow(t, asList(row))
			}
		}
	}
	for name := range alarmNames {
		if !shown[name] {
			t.Errorf("alarm %s is not on the dashboard", name)
		}
	}
}

// checkDashboardRow checks a Wagate metric of a dashboard graph: namespace, name,
// then dimension key/value pairs, then an optional options object.
func checkDashboardRow(t *testing.T, row []any) {
	t.Helper()
	if len(row) < 2 || row[0] != metrics.Namespace {
		return
	}
	dims := map[string]string{}
	for i := 2; i+1 < len(row); i += 2 {
		k, ok := row[i].(string)
		if !ok {
			break
		}
		dims[k] = fmt.Sprint(row[i+1])
	}
	if err := checkWagateMetric(fmt.Sprint(row[1]), dims); err != nil {
		t.Errorf("dashboard: %v", err)
	}
}

func TestSavedQueries(t *testing.T) {
	tp := load(t)
	catalogue := readRepo(t, "docs/logging.md")
	queries := map[string]string{}
	for _, id := range tp.ofType("AWS::Logs::QueryDefinition") {
		p := tp.props(id)
		name, _ := asMap(p["Name"])["Fn::Sub"].(string)
		q, _ := p["QueryString"].(string)
		queries[strings.TrimPrefix(name, "${AWS::StackName}/")] = q
		for _, g := range asList(p["LogGroupNames"]) {
			if tp.resources()[target(g)]["Type"] != "AWS::Logs::LogGroup" {
				t.Errorf("query %s reads %v, not a log group of the template", name, g)
			}
		}
		for _, m := range regexp.MustCompile(`"([a-z]+_[a-z_]+|whatsmeow)"`).FindAllStringSubmatch(q, -1) {
			if !strings.Contains(catalogue, "`"+m[1]+"`") {
				t.Errorf("query %s uses event %q, which docs/logging.md does not list", name, m[1])
			}
		}
	}
	for name, must := range map[string][]string{
		"session-history":  {`filter session = "SESSION_ID"`, "sort @timestamp desc"},
		"why-disconnected": {"session_reconnecting", "session_stopped", "code", "retry_in"},
		"slowest-sends":    {`event = "message_sent"`, "sort duration_ms desc"},
	} {
		q, ok := queries[name]
		if !ok {
			t.Errorf("no saved query %s", name)
			continue
		}
		for _, s := range must {
			if !strings.Contains(q, s) {
				t.Errorf("query %s does not contain %q:\n%s", name, s, q)
			}
		}
	}
}
