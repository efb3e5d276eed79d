package wot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestReexportsWire keeps package wot's public API whole: every exported
// identifier of package wire (the wire contract, which used to live here)
// must be declared in wot too, by wire.go.
func TestReexportsWire(t *testing.T) {
	wire := exported(t, "../wire")
	wot := exported(t, ".")
	if len(wire) == 0 {
		t.Fatal("package wire exports nothing")
	}
	for name := range wire {
		if !wot[name] {
			t.Errorf("wire.%s is not re-exported as wot.%[1]s (add it to wot/wire.go)", name)
		}
	}
}

// exported returns the exported top-level identifiers (no methods) of the
// non-test files in dir.
func exported(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	names := make(map[string]bool)
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names[s.Name.Name] = true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	return names
}
