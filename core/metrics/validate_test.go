package metrics_test

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/core/metrics"
)

func TestParseAcceptsValidDocuments(t *testing.T) {
	tests := []struct {
		name string
		line string
		want int // samples
	}{
		{"one_metric", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Wagate","Dimensions":[["Kind"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"Kind":"x","A":1}`, 1},
		{"no_dimensions", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Wagate","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":[1,2,3]}`, 1},
		{"two_dimension_sets", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["K"],[]],"Metrics":[{"Name":"A","StorageResolution":60}]}]},"K":"v","A":1}`, 2},
		{"other_members_are_log_fields", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"A"}]}]},"A":1,"session":"main","event":"x"}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := metrics.Parse([]byte(tt.line))
			if err != nil {
				t.Fatal(err)
			}
			if len(s) != tt.want {
				t.Errorf("%d samples, want %d: %+v", len(s), tt.want, s)
			}
		})
	}
}

func TestParseRejectsInvalidDocuments(t *testing.T) {
	metric := func(n int) string {
		var defs, vals []string
		for i := range n {
			defs = append(defs, `{"Name":"M`+itoa(i)+`"}`)
			vals = append(vals, `"M`+itoa(i)+`":1`)
		}
		return `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[` +
			strings.Join(defs, ",") + `]}]},` + strings.Join(vals, ",") + `}`
	}
	dims := func(n int) string {
		var keys, vals []string
		for i := range n {
			keys = append(keys, `"K`+itoa(i)+`"`)
			vals = append(vals, `"K`+itoa(i)+`":"v"`)
		}
		return `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[` + strings.Join(keys, ",") +
			`]],"Metrics":[{"Name":"A"}]}]},"A":1,` + strings.Join(vals, ",") + `}`
	}
	ok := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["K"]],"Metrics":[{"Name":"A","Unit":"Count"}]}]},"K":"v","A":1}`
	if err := metrics.Validate([]byte(ok)); err != nil {
		t.Fatalf("the base document: %v", err)
	}
	if err := metrics.Validate([]byte(metric(100))); err != nil {
		t.Fatalf("100 metrics: %v", err)
	}
	if err := metrics.Validate([]byte(dims(30))); err != nil {
		t.Fatalf("30 dimensions: %v", err)
	}
	tests := []struct{ name, line string }{
		{"not_json", `hello`},
		{"trailing_data", ok + ` {}`},
		{"no_aws", `{"A":1}`},
		{"aws_not_object", `{"_aws":1}`},
		{"no_timestamp", `{"_aws":{"CloudWatchMetrics":[]}}`},
		{"string_timestamp", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":"1"`, 1)},
		{"fractional_timestamp", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":1.5`, 1)},
		{"unknown_aws_member", strings.Replace(ok, `"Timestamp":1`, `"Timestamp":1,"Extra":1`, 1)},
		{"no_directives", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`},
		{"null_directives", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":null}}`},
		{"no_namespace", strings.Replace(ok, `"Namespace":"N",`, ``, 1)},
		{"blank_namespace", strings.Replace(ok, `"Namespace":"N"`, `"Namespace":" "`, 1)},
		{"no_dimensions", strings.Replace(ok, `"Dimensions":[["K"]],`, ``, 1)},
		{"dimension_not_at_root", strings.Replace(ok, `"K":"v",`, ``, 1)},
		{"dimension_not_string", strings.Replace(ok, `"K":"v"`, `"K":3`, 1)},
		{"dimension_null", strings.Replace(ok, `"K":"v"`, `"K":null`, 1)},
		{"dimension_empty", strings.Replace(ok, `"K":"v"`, `"K":""`, 1)},
		{"too_many_dimensions", dims(31)},
		{"no_metrics", strings.Replace(ok, `{"Name":"A","Unit":"Count"}`, ``, 1)},
		{"too_many_metrics", metric(101)},
		{"metric_without_name", strings.Replace(ok, `"Name":"A",`, ``, 1)},
		{"metric_not_at_root", strings.Replace(ok, `,"A":1`, ``, 1)},
		{"metric_value_string", strings.Replace(ok, `"A":1`, `"A":"1"`, 1)},
		{"metric_value_null", strings.Replace(ok, `"A":1`, `"A":null`, 1)},
		{"metric_values_empty", strings.Replace(ok, `"A":1`, `"A":[]`, 1)},
		{"metric_values_mixed", strings.Replace(ok, `"A":1`, `"A":[1,"x"]`, 1)},
		{"bad_unit", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Things"`, 1)},
		{"bad_storage_resolution", strings.Replace(ok, `"Unit":"Count"`, `"StorageResolution":5`, 1)},
		{"unknown_definition_member", strings.Replace(ok, `"Unit":"Count"`, `"Unit":"Count","Stat":"Sum"`, 1)},
		{"unknown_directive_member", strings.Replace(ok, `"Namespace":"N"`, `"Namespace":"N","Region":"x"`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := metrics.Validate([]byte(tt.line)); err == nil {
				t.Errorf("accepted %s", tt.line)
			}
		})
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = "1"
	}
	if err := metrics.Validate([]byte(strings.Replace(ok, `"A":1`, `"A":[`+strings.Join(many, ",")+`]`, 1))); err == nil {
		t.Error("accepted 101 values for one metric")
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
