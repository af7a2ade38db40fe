package purity

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/weftflow/weft"

// pure lists the core packages, relative to the module root.
var pure = []string{"dsl", "interp", "codec", "internal/ast", "internal/position", "internal/cborhead", "internal/decode", "internal/statecopy", "internal/unixns"}

// forbidden matches imports that reach the outside world, the clock's
// side doors, randomness or concurrency.
var forbidden = regexp.MustCompile(`^(os|os/.*|net|net/.*|math/rand|math/rand/v2|crypto/rand|syscall|io/fs|io/ioutil|log|log/.*|unsafe|runtime|runtime/.*|sync|sync/.*|plugin|go\.etcd\.io/bbolt.*|.*/storage.*|.*/engine.*|.*/simulate.*|.*/cmd/.*)$`)

// allowedThirdParty lists the modules the core may use besides the standard library.
var allowedThirdParty = []string{"github.com/fxamacker/cbor/v2"}

// clockCalls are the time functions that read or wait on the real clock.
var clockCalls = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}

func TestCoreIsPure(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, dir := range pure {
		p, err := checkDir(filepath.Join(root, dir), dir)
		if err != nil {
			t.Fatal(err)
		}
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		t.Fatalf("the pure core is impure:\n%s", strings.Join(problems, "\n"))
	}
}

// TestCheckerCatchesViolations proves the checker can fail.
func TestCheckerCatchesViolations(t *testing.T) {
	src := `package bad
import (
	"os"
	"sync"
	"time"
	t2 "time"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/ast"
	"example.com/other"
)
func f() {
	go func() {}()
	_ = time.Now()
	t2.Sleep(1)
	var ch chan int
	_ = ch
	_, _, _, _ = os.Args, sync.Mutex{}, engine.X, other.Y
}`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad_test.go"), []byte("package bad\nimport \"os\"\nvar _ = os.Args\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := checkDir(dir, "bad")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`bad/bad.go: imports "os"`,
		`bad/bad.go: imports "sync"`,
		`bad/bad.go: imports "github.com/weftflow/weft/engine"`,
		`bad/bad.go: imports "example.com/other", a module the core may not use`,
		`bad/bad.go:12: starts a goroutine`,
		`bad/bad.go:13: calls time.Now`,
		`bad/bad.go:14: calls time.Sleep`,
		`bad/bad.go:15: uses a channel`,
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// checkDir reports the violations in the non-test Go files of dir.
func checkDir(dir, rel string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var problems []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		name := rel + "/" + filepath.Base(path)
		timeNames := map[string]bool{}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case forbidden.MatchString(p):
				problems = append(problems, fmt.Sprintf("%s: imports %q", name, p))
			case strings.HasPrefix(p, module+"/"):
				if !isPure(strings.TrimPrefix(p, module+"/")) {
					problems = append(problems, fmt.Sprintf("%s: imports %q, which is not part of the pure core", name, p))
				}
			case strings.Contains(strings.Split(p, "/")[0], ".") && !allowed(p):
				problems = append(problems, fmt.Sprintf("%s: imports %q, a module the core may not use", name, p))
			}
			if p == "time" {
				local := "time"
				if imp.Name != nil {
					local = imp.Name.Name
				}
				timeNames[local] = true
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				problems = append(problems, fmt.Sprintf("%s:%d: starts a goroutine", name, fset.Position(n.Pos()).Line))
			case *ast.ChanType:
				problems = append(problems, fmt.Sprintf("%s:%d: uses a channel", name, fset.Position(n.Pos()).Line))
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && timeNames[id.Name] && clockCalls[n.Sel.Name] {
					problems = append(problems, fmt.Sprintf("%s:%d: calls time.%s", name, fset.Position(n.Pos()).Line, n.Sel.Name))
				}
			}
			return true
		})
	}
	return problems, nil
}

func isPure(rel string) bool {
	for _, p := range pure {
		if rel == p {
			return true
		}
	}
	return false
}

func allowed(p string) bool {
	for _, a := range allowedThirdParty {
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}
