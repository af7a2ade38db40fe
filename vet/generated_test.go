package vet_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/packages"
	"pgregory.net/rapid"

	"github.com/weftflow/weft/vet"
)

// snippet is one line of workflow code; why is a part of the finding it must
// give, "" for deterministic code.
type snippet struct{ code, why string }

var snippets = []snippet{
	{"s.N++", ""},
	{`s.Keys = append(s.Keys, "x")`, ""},
	{"for _, k := range slices.Sorted(maps.Keys(s.M)) { s.Keys = append(s.Keys, k) }", ""},
	{"for k, v := range s.M { s.C[k] = v }", ""},
	{"for _, v := range s.M { s.N += v }", ""},
	{"s.N += len(table) + limit", ""},
	{"s.T = s.T.Add(time.Hour).UTC()", ""},
	{"{ r := rand.New(rand.NewSource(s.Seed)); s.N += r.Intn(3) }", ""},
	{`{ local := map[string]int{"a": 1}; local["b"]++; s.N += local["a"] }`, ""},
	{"s.T = time.Now()", "time.Now reads the wall clock"},
	{"s.N += int(time.Since(s.T))", "time.Since reads the wall clock"},
	{"time.Sleep(0)", "time.Sleep waits on the wall clock"},
	{"s.N += rand.Intn(3)", "rand.Intn draws random numbers"},
	{"for k := range s.M { s.Keys = append(s.Keys, k) }", "range over a map visits the keys in a random order"},
	{"for k := range maps.Keys(s.M) { s.Keys = append(s.Keys, k) }", "maps.Keys visits the keys in a random order"},
	{"go func() {}()", "go statement starts a goroutine"},
	{"{ ch := make(chan int, 1); ch <- 1 }", "channel send synchronizes"},
	{"counter++", "writes package-level variable counter"},
	{"s.N += counter", "reads package-level variable counter, which is written outside init"},
	{`s.Keys = append(s.Keys, os.Getenv("X"))`, "os.Getenv reads the process environment"},
}

// place is a constructor the generated code goes in: the lines before and
// after the code, and how its findings are labelled ("" for a Call's
// activity, which may be nondeterministic).
type place struct {
	open, close []string
	role        string
	value       bool // the state is a value (an activity), not a pointer
}

func places(k int) []place {
	return []place{
		{[]string{fmt.Sprintf(`dsl.Step("s%d", func(s *S) error {`, k)}, []string{"return nil", "}),"}, fmt.Sprintf(`step "s%d"`, k), false},
		{[]string{fmt.Sprintf(`dsl.If("i%d", func(s *S) bool {`, k)}, []string{"return s.N > 0", "}),"}, fmt.Sprintf(`condition of if "i%d"`, k), false},
		{[]string{fmt.Sprintf(`dsl.WaitFor("f%d", func(s *S) bool {`, k)}, []string{"return s.N > 0", "}),"}, fmt.Sprintf(`condition of wait-for "f%d"`, k), false},
		{[]string{fmt.Sprintf(`dsl.Wait("w%d", dsl.On("e%d", dsl.Signal(func(s *S, p int) (int, error) {`, k, k)}, []string{"return p, nil", "}))),"}, fmt.Sprintf(`handler of event "e%d"`, k), false},
		{[]string{fmt.Sprintf(`dsl.Call("c%d", act, func(s *S, out int) {`, k)}, []string{"}),"}, fmt.Sprintf(`result of call "c%d"`, k), false},
		{[]string{fmt.Sprintf(`dsl.Call("a%d", func(ctx context.Context, s S) (int, error) {`, k)}, []string{"return 0, nil", "}, nil),"}, "", true},
	}
}

const header = `package gen

import (
	"context"
	"maps"
	"math/rand"
	"os"
	"slices"
	"time"

	"github.com/weftflow/weft/dsl"
)

var (
	_ = maps.Keys[map[int]int]
	_ = rand.Intn
	_ = os.Getenv
	_ = slices.Sorted[int]
)

type S struct {
	N    int
	Seed int64
	M, C map[string]int
	Keys []string
	T    time.Time
}

const limit = 3

var table = []int{1, 2}

var counter int

func bump() { counter++ }

func act(ctx context.Context, s S) (int, error) { return 0, nil }
`

// program is a generated package and the findings the analyzer must give:
// for each line, a part of the message.
type program struct {
	src  string
	want map[int]string
}

func (p *program) line() int { return strings.Count(p.src, "\n") + 1 }

func (p *program) add(lines ...string) {
	for _, l := range lines {
		p.src += l + "\n"
	}
}

// genProgram draws workflows whose code is a few snippets, each inline or in
// a helper function (one or two calls deep), some of them suppressed.
func genProgram(t *rapid.T) *program {
	p := &program{src: header, want: map[int]string{}}
	// A helper's chain is what a finding at its call says after "calls ":
	// "h2 -> h0: time.Sleep ...", or "" if it is deterministic.
	type helper struct{ name, chain string }
	var helpers []helper
	nHelpers := rapid.IntRange(0, 6).Draw(t, "helpers")
	for i := range nHelpers {
		h := helper{name: fmt.Sprintf("h%d", i)}
		p.add("", fmt.Sprintf("func %s(s *S) {", h.name))
		for range rapid.IntRange(0, 3).Draw(t, "helper lines") {
			if i > 0 && rapid.Bool().Draw(t, "call an earlier helper") {
				callee := helpers[rapid.IntRange(0, i-1).Draw(t, "callee")]
				p.add(callee.name + "(s)")
				if h.chain == "" && callee.chain != "" {
					h.chain = h.name + " -> " + callee.chain
				}
				continue
			}
			sn := rapid.SampledFrom(snippets).Draw(t, "helper snippet")
			if sn.why != "" && rapid.IntRange(0, 3).Draw(t, "suppress") == 0 {
				p.add(sn.code + " //weft:allow-nondeterminism generated")
				continue
			}
			p.add(sn.code)
			if h.chain == "" && sn.why != "" {
				h.chain = h.name + ": " + sn.why
			}
		}
		p.add("}")
		helpers = append(helpers, h)
	}
	p.add("", "var Body = dsl.S(")
	for k := range rapid.IntRange(1, 6).Draw(t, "statements") {
		pl := rapid.SampledFrom(places(k)).Draw(t, "place")
		p.add(pl.open...)
		for range rapid.IntRange(0, 4).Draw(t, "lines") {
			line := p.line()
			if len(helpers) > 0 && rapid.Bool().Draw(t, "call a helper") {
				h := rapid.SampledFrom(helpers).Draw(t, "helper")
				arg := "s"
				if pl.value {
					arg = "&s"
				}
				suppressed := h.chain != "" && rapid.IntRange(0, 3).Draw(t, "suppress call") == 0
				if suppressed {
					p.add(h.name + "(" + arg + ") //weft:allow-nondeterminism generated")
				} else {
					p.add(h.name + "(" + arg + ")")
				}
				if pl.role != "" && h.chain != "" && !suppressed {
					p.want[line] = pl.role + " calls " + h.chain
				}
				continue
			}
			sn := rapid.SampledFrom(snippets).Draw(t, "snippet")
			if sn.why != "" && rapid.IntRange(0, 3).Draw(t, "suppress") == 0 {
				p.add(sn.code + " //weft:allow-nondeterminism generated")
				continue
			}
			p.add(sn.code)
			if pl.role != "" && sn.why != "" {
				p.want[line] = pl.role + ": " + sn.why
			}
		}
		p.add(pl.close...)
	}
	p.add(")")
	return p
}

var (
	baseOnce sync.Once
	baseImp  types.Importer
	baseErr  error
)

// importerForDSL type-checks imports from export data, loaded once.
func importerForDSL() (types.Importer, error) {
	baseOnce.Do(func() {
		cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedImports | packages.NeedDeps}
		pkgs, err := packages.Load(cfg, "github.com/weftflow/weft/dsl", "context", "maps", "math/rand", "os", "slices", "time")
		if err != nil {
			baseErr = err
			return
		}
		byPath := map[string]*types.Package{}
		packages.Visit(pkgs, nil, func(p *packages.Package) { byPath[p.PkgPath] = p.Types })
		baseImp = importerFunc(func(path string) (*types.Package, error) {
			if p, ok := byPath[path]; ok {
				return p, nil
			}
			return importer.Default().Import(path)
		})
	})
	return baseImp, baseErr
}

type importerFunc func(string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// analyze runs the analyzer on one generated file and returns its findings
// by line. Facts of imported packages are not needed: it imports only the
// standard library and dsl.
func analyze(t *rapid.T, src string) map[int][]string {
	imp, err := importerForDSL()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "gen.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	info := &types.Info{
		Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{},
		Selections: map[*ast.SelectorExpr]*types.Selection{}, Instances: map[*ast.Ident]types.Instance{}, Implicits: map[ast.Node]types.Object{},
	}
	pkg, err := (&types.Config{Importer: imp}).Check("example.com/gen", fset, []*ast.File{f}, info)
	if err != nil {
		t.Fatalf("type-check: %v\n%s", err, src)
	}
	got := map[int][]string{}
	pass := &analysis.Pass{
		Analyzer: vet.Analyzer, Fset: fset, Files: []*ast.File{f}, Pkg: pkg, TypesInfo: info,
		TypesSizes: types.SizesFor("gc", "amd64"),
		ResultOf:   map[*analysis.Analyzer]any{inspect.Analyzer: inspector.New([]*ast.File{f})},
		Report: func(d analysis.Diagnostic) {
			line := fset.Position(d.Pos).Line
			got[line] = append(got[line], d.Message)
		},
		ImportObjectFact:  func(types.Object, analysis.Fact) bool { return false },
		ExportObjectFact:  func(types.Object, analysis.Fact) {},
		ImportPackageFact: func(*types.Package, analysis.Fact) bool { return false },
		ExportPackageFact: func(analysis.Fact) {},
		AllObjectFacts:    func() []analysis.ObjectFact { return nil },
		AllPackageFacts:   func() []analysis.PackageFact { return nil },
	}
	if _, err := vet.Analyzer.Run(pass); err != nil {
		t.Fatalf("run: %v", err)
	}
	return got
}

// The analyzer reports exactly the planted nondeterminism of random
// workflows: each unsuppressed snippet where it is, each call of a helper
// that reaches one with its chain; nothing in deterministic code, activities
// or suppressed lines.
func TestGeneratedWorkflows(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genProgram(t)
		got := analyze(t, p.src)
		for line, want := range p.want {
			if len(got[line]) != 1 || !strings.HasPrefix(got[line][0], want) {
				t.Fatalf("line %d: got %q, want one finding starting %q\n%s", line, got[line], want, numbered(p.src))
			}
		}
		for line, msgs := range got {
			if _, ok := p.want[line]; !ok {
				t.Fatalf("line %d: unexpected findings %q\n%s", line, msgs, numbered(p.src))
			}
		}
	})
}

func numbered(src string) string {
	var b strings.Builder
	for i, l := range strings.Split(src, "\n") {
		fmt.Fprintf(&b, "%3d %s\n", i+1, l)
	}
	return b.String()
}

// Helpers that call each other in any graph, cycles and self-calls
// included: a step that calls a helper is reported exactly when the helper
// reaches nondeterministic code, and the chain it names is a real path of
// calls ending at a helper that does what the finding says.
func TestGeneratedCallGraphs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(t, "helpers")
		calls := make([][]int, n)
		direct := make([][]string, n)
		p := &program{src: header}
		for i := range n {
			p.add("", fmt.Sprintf("func h%d(s *S) {", i))
			for range rapid.IntRange(0, 3).Draw(t, "lines") {
				if rapid.IntRange(0, 2).Draw(t, "call or code") > 0 {
					j := rapid.IntRange(0, n-1).Draw(t, "callee")
					calls[i] = append(calls[i], j)
					p.add(fmt.Sprintf("h%d(s)", j))
					continue
				}
				sn := rapid.SampledFrom(snippets).Draw(t, "snippet")
				p.add(sn.code)
				if sn.why != "" {
					direct[i] = append(direct[i], sn.why)
				}
			}
			p.add("}")
		}
		p.add("", "var Body = dsl.S(")
		stepLine := make([]int, n)
		for i := range n {
			stepLine[i] = p.line()
			p.add(fmt.Sprintf(`dsl.Step("s%d", func(s *S) error { h%d(s); return nil }),`, i, i))
		}
		p.add(")")

		nondet := make([]bool, n)
		for changed := true; changed; {
			changed = false
			for i := range n {
				if nondet[i] {
					continue
				}
				if len(direct[i]) > 0 || slices.ContainsFunc(calls[i], func(j int) bool { return nondet[j] }) {
					nondet[i], changed = true, true
				}
			}
		}

		got := analyze(t, p.src)
		for i := range n {
			msgs := got[stepLine[i]]
			delete(got, stepLine[i])
			if !nondet[i] {
				if len(msgs) > 0 {
					t.Fatalf("step s%d: h%d reaches no nondeterminism, got %q\n%s", i, i, msgs, numbered(p.src))
				}
				continue
			}
			prefix := fmt.Sprintf(`step "s%d" calls `, i)
			if len(msgs) != 1 || !strings.HasPrefix(msgs[0], prefix) {
				t.Fatalf("step s%d: got %q, want one finding starting %q\n%s", i, msgs, prefix, numbered(p.src))
			}
			chain, why, _ := strings.Cut(strings.TrimPrefix(msgs[0], prefix), ": ")
			names := strings.Split(chain, " -> ")
			at := -1
			for k, name := range names {
				var h int
				if _, err := fmt.Sscanf(name, "h%d", &h); err != nil || (k == 0 && h != i) || (k > 0 && !slices.Contains(calls[at], h)) {
					t.Fatalf("step s%d: chain %q is not a path of calls from h%d\n%s", i, chain, i, numbered(p.src))
				}
				at = h
			}
			if !slices.ContainsFunc(direct[at], func(w string) bool { return strings.HasPrefix(why, w) }) {
				t.Fatalf("step s%d: chain ends at h%d, which does not do %q\n%s", i, at, why, numbered(p.src))
			}
		}
		if len(got) > 0 {
			t.Fatalf("unexpected findings %v\n%s", got, numbered(p.src))
		}
	})
}
