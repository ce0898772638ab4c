package metrics_test

import (
	"testing"

	"github.com/wagate/wagate/core/metrics"
)

func TestModeFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"local_default_off", nil, metrics.ModeOff, false},
		{"explicit_emf", map[string]string{"WAGATE_METRICS": "emf"}, metrics.ModeEMF, false},
		{"explicit_emf_any_case", map[string]string{"WAGATE_METRICS": " EMF "}, metrics.ModeEMF, false},
		{"lambda_default_emf", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "api-sessions"}, metrics.ModeEMF, false},
		{"ecs_default_emf", map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x"}, metrics.ModeEMF, false},
		{"off_wins_on_aws", map[string]string{"WAGATE_METRICS": "off", "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, metrics.ModeOff, false},
		{"unknown_value", map[string]string{"WAGATE_METRICS": "prometheus"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metrics.ModeFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ModeFromEnv = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
