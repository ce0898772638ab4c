package templatetest

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/wagate/wagate/functions/internal/cfnyaml"
)

// repoRoot is the repository root seen from this package's directory.
const repoRoot = "../.."

// tmpl is template.yaml as plain data: maps, lists and scalars, with the short
// intrinsic functions (!Ref, !GetAtt, !Sub, ...) turned into their long form
// ({"Ref": x}, {"Fn::GetAtt": [resource, attribute]}, {"Fn::Sub": x}, ...).
type tmpl map[string]any

func load(t *testing.T) tmpl {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := cfnyaml.Parse(data)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return m
}

// resources returns the template's resources by logical id.
func (tp tmpl) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range asMap(tp["Resources"]) {
		out[id] = asMap(r)
	}
	return out
}

// ofType returns the logical ids of resources of type typ, sorted.
func (tp tmpl) ofType(typ string) []string {
	var ids []string
	for id, r := range tp.resources() {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// props returns a resource's Properties.
func (tp tmpl) props(id string) map[string]any { return asMap(tp.resources()[id]["Properties"]) }

// functionProps returns a function's properties merged over Globals.Function (the
// function's own value wins; environment variables are merged by name).
func (tp tmpl) functionProps(id string) map[string]any {
	globals := asMap(asMap(tp["Globals"])["Function"])
	own := tp.props(id)
	merged := map[string]any{}
	for k, v := range globals {
		merged[k] = v
	}
	for k, v := range own {
		merged[k] = v
	}
	vars := map[string]any{}
	for k, v := range asMap(asMap(globals["Environment"])["Variables"]) {
		vars[k] = v
	}
	for k, v := range asMap(asMap(own["Environment"])["Variables"]) {
		vars[k] = v
	}
	merged["Environment"] = map[string]any{"Variables": vars}
	return merged
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// target returns the logical id a {"Ref": id} or {"Fn::GetAtt": [id, attr]} names.
func target(v any) string {
	m := asMap(v)
	if s, ok := m["Ref"].(string); ok {
		return s
	}
	if l := asList(m["Fn::GetAtt"]); len(l) == 2 {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

var subVar = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

// references returns every logical id or parameter that v refers to, anywhere
// inside it: Ref, GetAtt and ${Name} in Sub strings.
func references(v any) map[string]bool {
	refs := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if id := target(x); id != "" {
				refs[id] = true
			}
			if s, ok := x["Fn::Sub"].(string); ok {
				for _, m := range subVar.FindAllStringSubmatch(s, -1) {
					refs[m[1]] = true
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return refs
}

func TestTemplateShape(t *testing.T) {
	tp := load(t)
	if tp["Transform"] != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %v, want AWS::Serverless-2016-10-31", tp["Transform"])
	}
	params := asMap(tp["Parameters"])
	for _, p := range []string{"JwtIssuer", "JwtAudience", "AdminOrigin", "ConnectorImage", "VpcId", "SubnetIds", "AssignPublicIp", "LogRetentionDays", "WebhookSecret"} {
		if params[p] == nil {
			t.Errorf("parameter %s is missing", p)
		}
	}
	if d := asMap(params["LogRetentionDays"])["Default"]; d != 30 {
		t.Errorf("LogRetentionDays default %v, want 30", d)
	}
	if asMap(params["WebhookSecret"])["NoEcho"] != true {
		t.Error("WebhookSecret must be NoEcho")
	}
	outputs := asMap(tp["Outputs"])
	for _, o := range []string{"ApiUrl", "StateTableName", "KeyTableName", "CommandsQueueUrl", "EventsQueueUrl"} {
		if outputs[o] == nil {
			t.Errorf("output %s is missing", o)
		}
	}
	for id, r := range tp.resources() {
		if r["Type"] == nil {
			t.Errorf("resource %s has no Type", id)
		}
		for ref := range references(r) {
			if _, isRes := tp.resources()[ref]; !isRes && params[ref] == nil && !strings.HasPrefix(ref, "AWS") {
				t.Errorf("resource %s refers to %s, which is neither a resource nor a parameter", id, ref)
			}
		}
	}
}
