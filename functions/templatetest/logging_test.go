package templatetest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// eventLiteral matches the event field of a log call: "event", "name" (also inside
// slog.String("event", "name")).
var eventLiteral = regexp.MustCompile(`"event",\s*"([a-z0-9_]+)"`)

// catalogueEntry matches a row of the event tables of docs/logging.md (after the
// heading "## Event catalogue").
var catalogueEntry = regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\|")

// loggedEvents returns the event names the production code of the connector, the
// functions and the core adapters logs, with a file that logs each.
func loggedEvents(t *testing.T) map[string]string {
	t.Helper()
	events := map[string]string{}
	for _, dir := range []string{"connector", "functions", "core"} {
		root := filepath.Join(repoRoot, dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range eventLiteral.FindAllStringSubmatch(string(data), -1) {
				rel, _ := filepath.Rel(repoRoot, path)
				events[m[1]] = rel
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return events
}

func TestLogEventCatalogue(t *testing.T) {
	logged := loggedEvents(t)
	if len(logged) < 50 {
		t.Fatalf("found only %d logged events; is the scan looking at the right folders?", len(logged))
	}
	doc := readRepo(t, "docs/logging.md")
	_, catalogue, ok := strings.Cut(doc, "## Event catalogue")
	if !ok {
		t.Fatal(`docs/logging.md has no "## Event catalogue" section`)
	}
	listed := map[string]bool{}
	for _, m := range catalogueEntry.FindAllStringSubmatch(catalogue, -1) {
		if listed[m[1]] {
			t.Errorf("docs/logging.md lists %s twice", m[1])
		}
		listed[m[1]] = true
	}
	var missing, stale []string
	for ev, file := range logged {
		if !listed[ev] {
			missing = append(missing, ev+" ("+file+")")
		}
	}
	for ev := range listed {
		if _, ok := logged[ev]; !ok {
			stale = append(stale, ev)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	for _, ev := range missing {
		t.Errorf("event %s is logged but not in docs/logging.md: add what it means and what to do", ev)
	}
	for _, ev := range stale {
		t.Errorf("docs/logging.md lists event %s, which no code logs any more", ev)
	}
}
