package cfnyaml

import (
	"reflect"
	"strings"
	"testing"
)

// TestShortFormIntrinsics: the short forms come out as CloudFormation's long forms,
// YAML's own tags and plain scalars stay as they are, and what CloudFormation
// refuses is refused with the line.
func TestShortFormIntrinsics(t *testing.T) {
	got, err := Parse([]byte(`
A: !Ref Table
B: !GetAtt Queue.Arn
C: !Sub "${AWS::StackName}-x"
D: !If [IsProd, 1, 2]
E: !!str 42
F: 42
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"A": map[string]any{"Ref": "Table"},
		"B": map[string]any{"Fn::GetAtt": []any{"Queue", "Arn"}},
		"C": map[string]any{"Fn::Sub": "${AWS::StackName}-x"},
		"D": map[string]any{"Fn::If": []any{"IsProd", 1, 2}},
		"E": "42",
		"F": 42,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}

	for _, bad := range []string{"a: &x 1\nb: *x\n", "- 1\n- 2\n", "a: [1\n"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		} else if strings.Contains(bad, "*x") && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("alias error %q does not name line 2", err)
		}
	}
}
