package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootImportsStdlibOnly keeps the root package free of dependencies: every
// module imports it, and Lambda functions must not carry the SQLite driver or the
// AWS SDK because of it.
func TestRootImportsStdlibOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg != "github.com/wagate/wagate/core" {
			t.Errorf("package core depends on %s; the root package may import the standard library only", pkg)
		}
	}
}

// TestDocComments checks that every exported name of the root package has a doc
// comment that starts with its name.
func TestDocComments(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && (d.Recv == nil || exportedRecv(d.Recv)) {
					checkDoc(t, fset, d.Name, d.Doc, nil)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							checkDoc(t, fset, s.Name, s.Doc, d.Doc)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							// Grouped constants may share the group's comment.
							if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
								t.Errorf("%s: %s has no doc comment", fset.Position(n.Pos()), n.Name)
							}
						}
					}
				}
			}
		}
	}
}

func exportedRecv(fl *ast.FieldList) bool {
	typ := fl.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

func checkDoc(t *testing.T, fset *token.FileSet, name *ast.Ident, doc, groupDoc *ast.CommentGroup) {
	t.Helper()
	if doc == nil {
		doc = groupDoc
	}
	if doc == nil {
		t.Errorf("%s: %s has no doc comment", fset.Position(name.Pos()), name.Name)
		return
	}
	text := doc.Text()
	if !strings.HasPrefix(text, name.Name+" ") && !strings.HasPrefix(text, "A "+name.Name+" ") && !strings.HasPrefix(text, "An "+name.Name+" ") {
		t.Errorf("%s: the doc comment of %s should start with its name: %q", fset.Position(name.Pos()), name.Name, firstLine(text))
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
