package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wagate/wagate/functions/internal/cfnyaml"
)

// Template is what devapi takes from template.yaml: every Lambda function with its
// HTTP routes, queue event, environment, timeout and memory size. Reading the
// template at start, rather than keeping a copy of its route table, keeps devapi
// routing exactly as API Gateway will.
type Template struct {
	// Functions are the template's AWS::Serverless::Function resources, by logical id.
	Functions map[string]Function
	// Routes are the HttpApi events of all functions.
	Routes []Route
}

// Function is one Lambda function of the template.
type Function struct {
	// LogicalID is the resource name, e.g. ApiSessionsFunction.
	LogicalID string
	// Name is the function's cmd directory (and bin/lambda folder), e.g. api-sessions.
	Name string
	// Timeout and MemoryMB are the function's settings merged over Globals.Function.
	Timeout  time.Duration
	MemoryMB int
	// Env are the environment variables the template gives the function.
	Env []EnvVar
	// Queue is the function's SQS event, if it has one.
	Queue *QueueEvent
}

// EnvVar is one environment variable of a function: a literal Value, or a reference
// (Ref or GetAtt) to another resource or a parameter that devapi supplies.
type EnvVar struct {
	Name  string
	Value string
	Ref   string
}

// QueueEvent is a function's SQS event source.
type QueueEvent struct {
	// Queue is the logical id of the queue.
	Queue string
	// BatchSize is the most messages one invocation gets.
	BatchSize int
	// ReportBatchItemFailures says the function reports failed messages one by one.
	ReportBatchItemFailures bool
}

// Route is one HttpApi event: "METHOD /path/{param}" served by Function.
type Route struct {
	Method   string
	Path     string
	Function string // logical id
	// Public is true for routes without the JWT authorizer (Auth.Authorizer NONE).
	Public bool
	segs   []string
}

// Key returns the route key as API Gateway writes it: "GET /v1/sessions/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// FindTemplate returns the path of template.yaml in dir or the nearest folder above.
func FindTemplate(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find template.yaml: %w", err)
	}
	for {
		p := filepath.Join(dir, "template.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find template.yaml: not in this folder or any above it (pass -template)")
		}
		dir = parent
	}
}

// LoadTemplate reads and interprets the SAM template at path.
func LoadTemplate(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return ParseTemplate(data)
}

// ParseTemplate interprets a SAM template.
func ParseTemplate(data []byte) (*Template, error) {
	root, err := cfnyaml.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	globals := asMap(asMap(root["Globals"])["Function"])
	t := &Template{Functions: map[string]Function{}}
	ids := make([]string, 0)
	for id, r := range asMap(root["Resources"]) {
		if asMap(r)["Type"] == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		props := asMap(asMap(asMap(root["Resources"])[id])["Properties"])
		fn, routes, err := parseFunction(id, globals, props)
		if err != nil {
			return nil, err
		}
		t.Functions[id] = fn
		t.Routes = append(t.Routes, routes...)
	}
	if len(t.Routes) == 0 {
		return nil, errors.New("parse template: no HttpApi routes")
	}
	return t, nil
}

func parseFunction(id string, globals, props map[string]any) (Function, []Route, error) {
	fn := Function{LogicalID: id, Name: functionName(id)}
	timeout, ok := number(props["Timeout"], globals["Timeout"])
	if !ok {
		timeout = 3 // the Lambda default
	}
	fn.Timeout = time.Duration(timeout) * time.Second
	if fn.MemoryMB, ok = number(props["MemorySize"], globals["MemorySize"]); !ok {
		fn.MemoryMB = 128
	}
	vars := map[string]any{}
	for _, src := range []map[string]any{globals, props} {
		for k, v := range asMap(asMap(src["Environment"])["Variables"]) {
			vars[k] = v
		}
	}
	for name, v := range vars {
		ev := EnvVar{Name: name}
		switch x := v.(type) {
		case string:
			ev.Value = x
		case int, bool, float64:
			ev.Value = fmt.Sprint(x)
		default:
			if ev.Ref = target(v); ev.Ref == "" {
				return fn, nil, fmt.Errorf("parse template: %s: %s is neither a value nor a Ref or GetAtt", id, name)
			}
		}
		fn.Env = append(fn.Env, ev)
	}
	sort.Slice(fn.Env, func(i, j int) bool { return fn.Env[i].Name < fn.Env[j].Name })

	var routes []Route
	events := asMap(props["Events"])
	names := make([]string, 0, len(events))
	for name := range events {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ev := asMap(events[name])
		p := asMap(ev["Properties"])
		switch ev["Type"] {
		case "HttpApi":
			method, _ := p["Method"].(string)
			path, _ := p["Path"].(string)
			if method == "" || !strings.HasPrefix(path, "/") {
				return fn, nil, fmt.Errorf("parse template: %s event %s: want Method and Path", id, name)
			}
			routes = append(routes, newRoute(strings.ToUpper(method), path, id, asMap(p["Auth"])["Authorizer"] == "NONE"))
		case "SQS":
			q := &QueueEvent{Queue: target(p["Queue"]), BatchSize: 10}
			if n, ok := number(p["BatchSize"]); ok {
				q.BatchSize = n
			}
			for _, rt := range asList(p["FunctionResponseTypes"]) {
				if rt == "ReportBatchItemFailures" {
					q.ReportBatchItemFailures = true
				}
			}
			fn.Queue = q
		}
	}
	return fn, routes, nil
}

// functionName turns a logical id into the function's cmd directory:
// ApiSessionsFunction → api-sessions, EventsConsumerFunction → events-consumer.
func functionName(id string) string {
	id = strings.TrimSuffix(id, "Function")
	var b strings.Builder
	for i, c := range id {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// number returns the first of vs that is an integer.
func number(vs ...any) (int, bool) {
	for _, v := range vs {
		if n, ok := v.(int); ok {
			return n, true
		}
	}
	return 0, false
}

// target returns the resource or parameter a Ref or GetAtt names.
func target(v any) string {
	m := asMap(v)
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if l := asList(m["Fn::GetAtt"]); len(l) > 0 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
