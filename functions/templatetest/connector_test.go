package templatetest

import (
	"os/exec"
	"testing"
)

func TestConnectorService(t *testing.T) {
	tp := load(t)
	defs := tp.ofType("AWS::ECS::TaskDefinition")
	if len(defs) != 1 {
		t.Fatalf("task definitions %v, want one", defs)
	}
	def := tp.props(defs[0])
	if rp := asMap(def["RuntimePlatform"]); rp["CpuArchitecture"] != "ARM64" || rp["OperatingSystemFamily"] != "LINUX" {
		t.Errorf("RuntimePlatform %v, want ARM64 LINUX", rp)
	}
	if c := asList(def["RequiresCompatibilities"]); len(c) != 1 || c[0] != "FARGATE" || def["NetworkMode"] != "awsvpc" {
		t.Errorf("RequiresCompatibilities %v, NetworkMode %v; want FARGATE, awsvpc", c, def["NetworkMode"])
	}
	containers := asList(def["ContainerDefinitions"])
	if len(containers) != 1 {
		t.Fatalf("%d containers, want the connector alone", len(containers))
	}
	c := asMap(containers[0])
	if target(c["Image"]) != "ConnectorImage" {
		t.Errorf("Image %v, want the ConnectorImage parameter", c["Image"])
	}
	if c["StopTimeout"] != 30 {
		t.Errorf("StopTimeout %v, want 30 (the connector shuts down within 25 s)", c["StopTimeout"])
	}
	if hc := asList(asMap(c["HealthCheck"])["Command"]); len(hc) < 2 || hc[len(hc)-1] != "healthcheck" {
		t.Errorf("HealthCheck %v, want the connector's healthcheck subcommand", c["HealthCheck"])
	}
	env := map[string]any{}
	for _, e := range asList(c["Environment"]) {
		env[asMap(e)["Name"].(string)] = asMap(e)["Value"]
	}
	if env["WAGATE_LOG_FORMAT"] != "json" {
		t.Errorf("WAGATE_LOG_FORMAT %v, want json", env["WAGATE_LOG_FORMAT"])
	}
	wantRefs := map[string]string{
		"WAGATE_STATE_TABLE":        stateTable(t, tp),
		"WAGATE_COMMANDS_QUEUE_URL": target(asMap(asMap(tp.functionProps("ApiSessionsFunction")["Environment"])["Variables"])["WAGATE_COMMANDS_QUEUE_URL"]),
		"WAGATE_EVENTS_QUEUE_URL":   target(sqsEvents(tp, "EventsConsumerFunction")[0]["Queue"]),
	}
	for name, want := range wantRefs {
		if got := target(env[name]); got != want || want == "" {
			t.Errorf("connector %s is %v, want %s", name, env[name], want)
		}
	}
	keyTable(t, tp) // WAGATE_STORE=dynamodb:${KeyTable}
	logs := asMap(c["LogConfiguration"])
	group := target(asMap(logs["Options"])["awslogs-group"])
	if logs["LogDriver"] != "awslogs" || tp.resources()[group]["Type"] != "AWS::Logs::LogGroup" {
		t.Errorf("LogConfiguration %v, want awslogs to a log group of the template", logs)
	}

	services := tp.ofType("AWS::ECS::Service")
	if len(services) != 1 {
		t.Fatalf("services %v, want one", services)
	}
	svc := tp.props(services[0])
	if svc["DesiredCount"] != 1 || svc["LaunchType"] != "FARGATE" {
		t.Errorf("DesiredCount %v, LaunchType %v; want 1 on FARGATE", svc["DesiredCount"], svc["LaunchType"])
	}
	dc := asMap(svc["DeploymentConfiguration"])
	if dc["MinimumHealthyPercent"] != 0 || dc["MaximumPercent"] != 100 {
		t.Errorf("DeploymentConfiguration %v, want 0/100 so the old task stops before the new one starts", dc)
	}
	vpc := asMap(asMap(svc["NetworkConfiguration"])["AwsvpcConfiguration"])
	if target(vpc["Subnets"]) != "SubnetIds" || target(vpc["AssignPublicIp"]) != "AssignPublicIp" {
		t.Errorf("AwsvpcConfiguration %v, want the SubnetIds and AssignPublicIp parameters", vpc)
	}
	for _, sg := range asList(vpc["SecurityGroups"]) {
		if in := tp.props(target(sg))["SecurityGroupIngress"]; in != nil {
			t.Errorf("connector security group %s allows inbound traffic: %v", target(sg), in)
		}
	}
}

// TestCfnLint runs cfn-lint on the template when it is installed; `make test` runs
// it through lint-template anyway, and fails there when it is missing.
func TestCfnLint(t *testing.T) {
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint not found: pip install cfn-lint (1.51 or later)")
	}
	cmd := exec.Command(path, "template.yaml")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}
