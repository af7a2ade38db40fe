package apisurface

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/weftflow/weft"

// moved lists, per public package, the names that moved behind internal/
// and must not be exported there again, as functions, methods, types,
// variables, constants or struct fields.
var moved = map[string][]string{
	"engine": {"Outboxed", "DecodeEffect"},
	"dsl":    {"RunActivity", "ActivityTimeout"},
	"codec":  {"UnmarshalWhat"},
}

// plumbing lists the internal packages whose types no exported
// declaration of a public package may mention.
var plumbing = []string{"internal/outbox", "internal/activity", "internal/decode"}

func TestMovedNamesStayInternal(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, dir := range sortedKeys(moved) {
		files, err := parseDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("%s: no Go files (is the test run from its directory?)", dir)
		}
		problems = append(problems, check(dir, files, moved[dir])...)
	}
	if len(problems) > 0 {
		t.Fatalf("plumbing is back in the public API (docs/semantics.md, \"Plumbing behind internal/\"):\n%s", strings.Join(problems, "\n"))
	}
}

// No exported declaration of any public package (simulate, inspector and
// cli read the outbox through internal/outbox) mentions a plumbing type.
func TestPublicPackagesHidePlumbing(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if base := d.Name(); rel != "." && (base == "internal" || base == "testdata" || strings.HasPrefix(base, ".")) {
			return filepath.SkipDir
		}
		files, err := parseDir(path)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			n++
			problems = append(problems, check(filepath.ToSlash(rel), files, nil)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d public packages found", n)
	}
	if len(problems) > 0 {
		t.Fatalf("a public package exposes plumbing:\n%s", strings.Join(problems, "\n"))
	}
}

// TestCheckerCatchesViolations proves the checker can fail: every way a
// name or an internal type can be exported is found, and unexported ones
// are not.
func TestCheckerCatchesViolations(t *testing.T) {
	src := `package dsl
import (
	"context"
	ob "github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/internal/activity"
)
type Definition struct{ RunActivity func() }
func (d *Definition) RunActivity(ctx context.Context) {}
func (d *Definition) runActivity() {}
func ActivityTimeout() {}
var activityTimeout = 1
const RunActivity = 1
type ActivityTimeout int
func Entry() ob.Entry { return ob.Entry{} }
type Holder struct{ E *ob.Entry }
type hidden struct{ E ob.Entry }
func (hidden) Exported(ob.Entry) {}
func (d *Definition) Leak(ob.Entry) {}
func unexported(activity.Thing) {}
var Run = activity.Run
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "bad.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	got := check("dsl", []*ast.File{f}, []string{"RunActivity", "ActivityTimeout"})
	want := []string{
		`dsl: exports ActivityTimeout (func)`,
		`dsl: exports ActivityTimeout (type)`,
		`dsl: exports Definition.Leak, which mentions internal/outbox`,
		`dsl: exports Definition.RunActivity (field)`,
		`dsl: exports Definition.RunActivity (method)`,
		`dsl: exports Entry, which mentions internal/outbox`,
		`dsl: exports Holder, which mentions internal/outbox`,
		`dsl: exports Run, which mentions internal/activity`,
		`dsl: exports RunActivity (const)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// parseDir parses the non-test Go files of dir.
func parseDir(dir string) ([]*ast.File, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// check reports the exported declarations of pkg's files named in names,
// and those whose exported parts mention a plumbing package, sorted.
func check(pkg string, files []*ast.File, names []string) []string {
	banned := map[string]bool{}
	for _, n := range names {
		banned[n] = true
	}
	var problems []string
	name := func(id *ast.Ident, what string, qual string) {
		if id != nil && id.IsExported() && banned[id.Name] {
			problems = append(problems, fmt.Sprintf("%s: exports %s%s (%s)", pkg, qual, id.Name, what))
		}
	}
	for _, f := range files {
		internal := plumbingImports(f)
		mentions := func(n ast.Node) string {
			found := ""
			ast.Inspect(n, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && internal[id.Name] != "" && found == "" {
						found = internal[id.Name]
					}
				}
				return found == ""
			})
			return found
		}
		leak := func(id *ast.Ident, n ast.Node, qual string) {
			if n != nil && id.IsExported() {
				if p := mentions(n); p != "" {
					problems = append(problems, fmt.Sprintf("%s: exports %s%s, which mentions %s", pkg, qual, id.Name, p))
				}
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					name(d.Name, "func", "")
					leak(d.Name, d.Type, "")
					continue
				}
				recv := receiverName(d.Recv)
				if ast.IsExported(recv) {
					name(d.Name, "method", recv+".")
					leak(d.Name, d.Type, recv+".")
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						name(s.Name, "type", "")
						if st, ok := s.Type.(*ast.StructType); ok && s.Name.IsExported() {
							for _, fld := range st.Fields.List {
								for _, id := range fld.Names {
									name(id, "field", s.Name.Name+".")
								}
							}
						}
						leak(s.Name, exportedParts(s.Type), "")
					case *ast.ValueSpec:
						for i, id := range s.Names {
							name(id, strings.ToLower(d.Tok.String()), "")
							leak(id, s.Type, "")
							if i < len(s.Values) {
								leak(id, s.Values[i], "")
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// exportedParts is the part of a type a user sees: a struct's exported
// fields (and embedded ones), an interface's methods, or the whole type.
func exportedParts(t ast.Expr) ast.Node {
	st, ok := t.(*ast.StructType)
	if !ok {
		return t
	}
	var fields []*ast.Field
	for _, f := range st.Fields.List {
		if len(f.Names) == 0 {
			fields = append(fields, f)
			continue
		}
		for _, id := range f.Names {
			if id.IsExported() {
				fields = append(fields, f)
				break
			}
		}
	}
	return &ast.FieldList{List: fields}
}

// plumbingImports maps the local names of f's imports of plumbing
// packages to their paths under the module.
func plumbingImports(f *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		for _, pl := range plumbing {
			if p != module+"/"+pl {
				continue
			}
			local := filepath.Base(p)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			out[local] = pl
		}
	}
	return out
}

// receiverName is the type name of a method's receiver.
func receiverName(recv *ast.FieldList) string {
	if recv == nil || len(recv.List) == 0 {
		return ""
	}
	t := recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
