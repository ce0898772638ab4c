package templatetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// connectorTaskRole returns the logical id of the connector's task role.
func connectorTaskRole(t *testing.T, tp tmpl) string {
	t.Helper()
	defs := tp.ofType("AWS::ECS::TaskDefinition")
	if len(defs) != 1 {
		t.Fatalf("task definitions %v, want the connector's", defs)
	}
	role := target(tp.props(defs[0])["TaskRoleArn"])
	if tp.resources()[role]["Type"] != "AWS::IAM::Role" {
		t.Fatalf("TaskRoleArn %v is not a role of the template", tp.props(defs[0])["TaskRoleArn"])
	}
	return role
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOnlyConnectorTouchesKeyTable(t *testing.T) {
	tp := load(t)
	keys := keyTable(t, tp)
	cmk := tableKey(tp, keys)
	role := connectorTaskRole(t, tp)
	protected := map[string]bool{keys: true, cmk: true}

	for _, id := range tp.ofType("AWS::Serverless::Function") {
		for ref := range references(tp.resources()[id]) {
			if protected[ref] {
				t.Errorf("function %s refers to %s; only the connector's task role may use the key table and its key", id, ref)
			}
		}
	}
	for id, r := range tp.resources() {
		refs := references(r)
		touches := refs[keys] || refs[cmk]
		switch r["Type"] {
		case "AWS::IAM::Role":
			if touches && id != role {
				t.Errorf("role %s refers to the key table or its key", id)
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			if !touches {
				continue
			}
			var attached []string
			for _, r := range asList(tp.props(id)["Roles"]) {
				attached = append(attached, target(r))
			}
			if len(attached) != 1 || attached[0] != role || tp.props(id)["Users"] != nil || tp.props(id)["Groups"] != nil {
				t.Errorf("policy %s grants the key table or its key to %v, want only %s", id, attached, role)
			}
		}
	}

	// The key policy names the account (administration) and the task role only.
	for _, st := range asList(asMap(tp.props(cmk)["KeyPolicy"])["Statement"]) {
		principal := asMap(asMap(st)["Principal"])["AWS"]
		if target(principal) == role {
			continue
		}
		if sub, _ := asMap(principal)["Fn::Sub"].(string); strings.HasSuffix(sub, ":root") {
			continue
		}
		t.Errorf("key %s's policy allows %v; want only the account root and %s", cmk, principal, role)
	}
	var named bool
	for _, st := range asList(asMap(tp.props(cmk)["KeyPolicy"])["Statement"]) {
		named = named || target(asMap(asMap(st)["Principal"])["AWS"]) == role
	}
	if !named {
		t.Errorf("key %s's policy does not allow the connector's task role %s", cmk, role)
	}
}

// policyTargets returns the resources and parameters a function's policies name,
// and the SAM policy templates it uses.
func policyTargets(tp tmpl, id string) (map[string]bool, map[string]bool) {
	templates := map[string]bool{}
	refs := map[string]bool{}
	for _, p := range asList(tp.props(id)["Policies"]) {
		for name, v := range asMap(p) {
			if name != "Statement" {
				templates[name] = true
			}
			for r := range references(v) {
				refs[r] = true
			}
		}
		if s, ok := p.(string); ok {
			templates[s] = true
		}
	}
	return refs, templates
}

func TestFunctionPoliciesLeastPrivilege(t *testing.T) {
	tp := load(t)
	state := stateTable(t, tp)
	stateKey := tableKey(tp, state)
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		refs, templates := policyTargets(tp, id)
		vars := asMap(asMap(tp.functionProps(id)["Environment"])["Variables"])
		var want map[string]bool
		var wantTemplates []string
		if evs := sqsEvents(tp, id); len(evs) > 0 {
			want = map[string]bool{state: true, stateKey: true, target(evs[0]["Queue"]): true}
			wantTemplates = []string{"DynamoDBReadPolicy", "SQSPollerPolicy"}
		} else {
			want = map[string]bool{state: true, stateKey: true, target(vars["WAGATE_COMMANDS_QUEUE_URL"]): true}
			wantTemplates = []string{"DynamoDBCrudPolicy", "SQSSendMessagePolicy"}
		}
		for r := range refs {
			if !want[r] && !strings.HasPrefix(r, "AWS::") {
				t.Errorf("function %s's policies name %s; want only %v", id, r, sortedKeys(want))
			}
		}
		if got := strings.Join(sortedKeys(templates), " "); got != strings.Join(wantTemplates, " ") {
			t.Errorf("function %s uses policy templates %q, want %q", id, got, strings.Join(wantTemplates, " "))
		}
		for _, p := range asList(tp.props(id)["Policies"]) {
			for _, st := range asList(asMap(p)["Statement"]) {
				checkStatement(t, id, asMap(st))
			}
		}
	}
}

// checkStatement rejects wildcards that would grant more than one service's named
// actions on named resources.
func checkStatement(t *testing.T, owner string, st map[string]any) {
	t.Helper()
	if st["Resource"] == "*" {
		t.Errorf("%s: a policy statement applies to every resource", owner)
	}
	actions := asList(st["Action"])
	if s, ok := st["Action"].(string); ok {
		actions = []any{s}
	}
	for _, a := range actions {
		if s := fmt.Sprint(a); s == "*" || strings.HasSuffix(s, ":*") {
			t.Errorf("%s: a policy statement allows %s", owner, s)
		}
	}
}

func TestConnectorPolicyIsScoped(t *testing.T) {
	tp := load(t)
	role := connectorTaskRole(t, tp)
	for _, id := range tp.ofType("AWS::IAM::Policy") {
		for _, st := range asList(asMap(tp.props(id)["PolicyDocument"])["Statement"]) {
			checkStatement(t, id, asMap(st))
		}
	}
	if p := tp.props(role)["Policies"]; p != nil {
		t.Errorf("task role %s has inline policies; keep them in the separate policy resource the key policy can follow", role)
	}
}
