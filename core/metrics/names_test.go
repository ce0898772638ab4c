package metrics_test

import (
	"testing"

	"github.com/wagate/wagate/core/metrics"
)

func TestDefinitionsAreConsistent(t *testing.T) {
	dimKeys := map[string]bool{
		metrics.DimStatus: true, metrics.DimReason: true, metrics.DimCommand: true,
		metrics.DimCheck: true, metrics.DimOutcome: true,
	}
	seen := map[string]bool{}
	for _, d := range metrics.Definitions() {
		if seen[d.Name] {
			t.Errorf("%s defined twice", d.Name)
		}
		seen[d.Name] = true
		if dimKeys[d.Name] {
			t.Errorf("metric %s has the name of a dimension key: both are root members of a document", d.Name)
		}
		if d.Unit != metrics.UnitCount && d.Unit != metrics.UnitMilliseconds {
			t.Errorf("%s: unit %q", d.Name, d.Unit)
		}
		for _, k := range d.Dims {
			if !dimKeys[k] {
				t.Errorf("%s: dimension %q is not a declared dimension key", d.Name, k)
			}
		}
		if got, ok := metrics.Lookup(d.Name); !ok || got.Name != d.Name {
			t.Errorf("Lookup(%s) = %+v, %v", d.Name, got, ok)
		}
	}
	if _, ok := metrics.Lookup("NoSuchMetric"); ok {
		t.Error("Lookup found an undeclared metric")
	}
	// Each definition renders to a valid document.
	rec := &metrics.Recorder{}
	e := metrics.NewEMF(rec, nil)
	for _, d := range metrics.Definitions() {
		var dims []metrics.Dim
		for _, k := range d.Dims {
			dims = append(dims, metrics.D(k, "x"))
		}
		e.Count(d.Name, 1, dims...)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	for _, s := range rec.Samples() {
		if d, _ := metrics.Lookup(s.Name); s.Unit != d.Unit {
			t.Errorf("%s written with unit %q, declared %q", s.Name, s.Unit, d.Unit)
		}
	}
}
