package metrics

import (
	"fmt"
	"strings"
)

// Metric modes of WAGATE_METRICS.
const (
	ModeEMF = "emf" // write EMF lines (the default on AWS)
	ModeOff = "off" // record nothing (the default elsewhere)
)

// ModeFromEnv decides whether to emit EMF from the environment: WAGATE_METRICS=emf
// or off when set, else emf on AWS (Lambda, ECS, or any AWS_EXECUTION_ENV) and off
// elsewhere. Any other value of WAGATE_METRICS is an error.
func ModeFromEnv(lookup func(string) (string, bool)) (string, error) {
	if v, ok := lookup("WAGATE_METRICS"); ok && v != "" {
		switch m := strings.ToLower(strings.TrimSpace(v)); m {
		case ModeEMF, ModeOff:
			return m, nil
		}
		return "", fmt.Errorf("WAGATE_METRICS=%q: want emf or off", v)
	}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "ECS_CONTAINER_METADATA_URI_V4", "AWS_EXECUTION_ENV"} {
		if v, ok := lookup(k); ok && v != "" {
			return ModeEMF, nil
		}
	}
	return ModeOff, nil
}
