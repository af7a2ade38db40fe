package defgen_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fix of commit 86820a5 (interp: check the thread count before slicing
// the inline buffer) and the lines it replaced.
const (
	fixedLoad = `	if len(buf) <= len(m.bufs.ptrs) {
		m.threads = m.bufs.ptrs[:len(buf)]
	} else {
		m.threads = make([]*thread, len(buf), len(buf)+1)
	}`
	buggyLoad = `	m.threads = m.bufs.ptrs[:len(buf)]
	if len(buf) > len(m.bufs.ptrs) {
		m.threads = make([]*thread, len(buf), len(buf)+1)
	}`
)

// TestFindsFiveThreadPanic proves the generator finds the class of bug it
// was built for: it puts back the five-thread panic of the interpreter's
// load path (a slice of a four-element inline buffer taken before its
// length was checked) in a copy of the module, and asserts that
// TestInterpreterInvariants, at its default budget, fails there with the
// panic.
func TestFindsFiveThreadPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a mutated copy of the module; runs without -short (as in .ci/run)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the package directory: %v", err)
	}
	dst := t.TempDir()
	if err := copyModule(root, dst); err != nil {
		t.Fatal(err)
	}
	apply := filepath.Join(dst, "interp", "apply.go")
	src, err := os.ReadFile(apply)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(src, []byte(fixedLoad)) != 1 {
		t.Fatalf("interp/apply.go no longer holds the fix of commit 86820a5 as this test knows it; update fixedLoad and buggyLoad to plant the same bug")
	}
	if err := os.WriteFile(apply, bytes.Replace(src, []byte(fixedLoad), []byte(buggyLoad), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^TestInterpreterInvariants$", "./internal/defgen/", "-args", "-rapid.nofailfile")
	cmd.Dir = dst
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("TestInterpreterInvariants passed on an interpreter with the five-thread panic planted; the generator no longer reaches five live threads:\n%s", out)
	}
	report := string(out)
	// The panic is in load(), which Apply, Resolve and Upgrade share; the
	// property reports whichever reaches a five-thread meta first. Their
	// recover barrier turns it into interp.ErrInternal, which the property
	// must treat as a panic of the interpreter.
	for _, want := range []string{"panicked", "slice bounds out of range", "interp: internal error", "definition:"} {
		if !strings.Contains(report, want) {
			t.Fatalf("the planted panic was not reported as one (want %q in the output; go test: %v):\n%s", want, err, report)
		}
	}
	i := max(0, strings.LastIndex(report[:strings.Index(report, "slice bounds out of range")], "\n"))
	t.Logf("caught, as expected:\n%s", report[i:min(len(report), i+600)])
}

// copyModule copies the module at root to dst, without .git.
func copyModule(root, dst string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}
