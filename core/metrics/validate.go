package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Sample is one metric of a parsed EMF document: its namespace, name, unit,
// dimension values and the values it carries.
type Sample struct {
	Namespace string
	Name      string
	Unit      Unit
	Dims      map[string]string
	Values    []float64
	At        time.Time
}

// validUnits are the units CloudWatch accepts.
var validUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Parse checks one log line against the Embedded Metric Format specification and
// returns its metrics, one Sample per metric and dimension set. The line must be a
// single JSON object with an _aws member holding an integer Timestamp (epoch
// milliseconds) and a CloudWatchMetrics array of directives; each directive has a
// Namespace, Dimensions (dimension sets of at most MaxDimensions keys, each naming a
// string member of the root) and 1 to MaxMetricsPerDirective Metrics (each with a
// Name naming a root member that is a number or an array of 1 to MaxValues numbers,
// an optional valid Unit and an optional StorageResolution of 1 or 60). Objects the
// specification defines must not carry other members.
func Parse(line []byte) ([]Sample, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]json.RawMessage
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("emf: not a JSON object: %w", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(bytes.TrimRight(line, " \t\r\n"))) {
		return nil, errors.New("emf: data after the JSON object")
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, errors.New("emf: no _aws member")
	}
	meta, err := object(raw, "_aws", "Timestamp", "CloudWatchMetrics")
	if err != nil {
		return nil, err
	}
	ts, err := timestamp(meta["Timestamp"])
	if err != nil {
		return nil, err
	}
	var directives []json.RawMessage
	if err := json.Unmarshal(meta["CloudWatchMetrics"], &directives); err != nil || absent(meta["CloudWatchMetrics"]) {
		return nil, errors.New("emf: _aws.CloudWatchMetrics must be an array")
	}
	if len(directives) == 0 {
		return nil, errors.New("emf: _aws.CloudWatchMetrics is empty")
	}
	var out []Sample
	for i, d := range directives {
		samples, err := parseDirective(root, d, ts)
		if err != nil {
			return nil, fmt.Errorf("emf: directive %d: %w", i, err)
		}
		out = append(out, samples...)
	}
	return out, nil
}

// Validate reports whether line is a valid EMF document (see Parse).
func Validate(line []byte) error {
	_, err := Parse(line)
	return err
}

func parseDirective(root map[string]json.RawMessage, raw json.RawMessage, ts time.Time) ([]Sample, error) {
	d, err := object(raw, "directive", "Namespace", "Dimensions", "Metrics")
	if err != nil {
		return nil, err
	}
	var ns string
	if err := json.Unmarshal(d["Namespace"], &ns); err != nil || !nonBlank(ns, maxNameLen) {
		return nil, errors.New("Namespace must be a string of 1 to 255 characters")
	}
	var sets [][]string
	if err := json.Unmarshal(d["Dimensions"], &sets); err != nil || absent(d["Dimensions"]) {
		return nil, errors.New("Dimensions must be an array of arrays of strings")
	}
	dimValues := make([]map[string]string, len(sets))
	for i, set := range sets {
		if len(set) > MaxDimensions {
			return nil, fmt.Errorf("dimension set %d has %d keys, at most %d", i, len(set), MaxDimensions)
		}
		dimValues[i] = make(map[string]string, len(set))
		for _, key := range set {
			var v string
			if err := json.Unmarshal(root[key], &v); err != nil || absent(root[key]) {
				return nil, fmt.Errorf("dimension %q has no string member at the root", key)
			}
			if err := checkDimValue(v); err != nil {
				return nil, fmt.Errorf("dimension %q: %w", key, err)
			}
			dimValues[i][key] = v
		}
	}
	var defs []json.RawMessage
	if err := json.Unmarshal(d["Metrics"], &defs); err != nil || absent(d["Metrics"]) {
		return nil, errors.New("Metrics must be an array")
	}
	if len(defs) == 0 || len(defs) > MaxMetricsPerDirective {
		return nil, fmt.Errorf("Metrics has %d definitions, want 1 to %d", len(defs), MaxMetricsPerDirective)
	}
	if len(sets) == 0 {
		sets, dimValues = [][]string{{}}, []map[string]string{{}}
	}
	var out []Sample
	for _, rawDef := range defs {
		name, unit, err := metricDefinition(rawDef)
		if err != nil {
			return nil, err
		}
		values, err := metricValues(root[name])
		if err != nil {
			return nil, fmt.Errorf("metric %q: %w", name, err)
		}
		for i := range sets {
			out = append(out, Sample{Namespace: ns, Name: name, Unit: unit, Dims: dimValues[i], Values: values, At: ts})
		}
	}
	return out, nil
}

func metricDefinition(raw json.RawMessage) (string, Unit, error) {
	def, err := object(raw, "metric definition", "Name", "Unit", "StorageResolution")
	if err != nil {
		return "", "", err
	}
	var name string
	if err := json.Unmarshal(def["Name"], &name); err != nil || !nonBlank(name, maxNameLen) {
		return "", "", errors.New("a metric definition needs a Name of 1 to 255 characters")
	}
	var unit string
	if u, ok := def["Unit"]; ok {
		if err := json.Unmarshal(u, &unit); err != nil || !validUnit(unit) {
			return "", "", fmt.Errorf("metric %q: unit %s is not a CloudWatch unit", name, u)
		}
	}
	if r, ok := def["StorageResolution"]; ok {
		var res int
		if err := json.Unmarshal(r, &res); err != nil || (res != 1 && res != 60) {
			return "", "", fmt.Errorf("metric %q: StorageResolution must be 1 or 60", name)
		}
	}
	return name, Unit(unit), nil
}

// metricValues reads a metric's root member: a number or 1 to MaxValues numbers.
func metricValues(raw json.RawMessage) ([]float64, error) {
	if absent(raw) {
		return nil, errors.New("no member at the root")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, finite(one)
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("the value must be a number or an array of numbers")
	}
	if len(many) == 0 || len(many) > MaxValues {
		return nil, fmt.Errorf("%d values, want 1 to %d", len(many), MaxValues)
	}
	for _, v := range many {
		if err := finite(v); err != nil {
			return nil, err
		}
	}
	return many, nil
}

func finite(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("the value is not finite")
	}
	return nil
}

// object decodes raw as a JSON object whose members are all in allowed.
func object(raw json.RawMessage, what string, allowed ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("emf: %s must be an object", what)
	}
	for k := range m {
		if !contains(allowed, k) {
			return nil, fmt.Errorf("emf: %s has the unknown member %q", what, k)
		}
	}
	return m, nil
}

func timestamp(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] == '"' {
		return time.Time{}, errors.New("emf: _aws.Timestamp must be a number")
	}
	if err := json.Unmarshal(raw, &n); err != nil || absent(raw) {
		return time.Time{}, errors.New("emf: _aws.Timestamp must be a number")
	}
	ms, err := n.Int64()
	if err != nil || ms <= 0 {
		return time.Time{}, errors.New("emf: _aws.Timestamp must be positive epoch milliseconds")
	}
	return time.UnixMilli(ms).UTC(), nil
}

// absent reports whether a member is missing or null (which json.Unmarshal would
// silently accept as a zero value).
func absent(raw json.RawMessage) bool {
	return raw == nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func nonBlank(s string, maxLen int) bool {
	return strings.TrimSpace(s) != "" && len(s) <= maxLen
}

func validUnit(u string) bool { return contains(validUnits, u) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
