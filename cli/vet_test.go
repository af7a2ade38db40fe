package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weftflow/weft/cli"
)

func runVet(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	p := &cli.Program{Name: "weft", Stdout: &out, Stderr: &errs}
	code = p.Main(context.Background(), append([]string{"vet"}, args...))
	return code, out.String(), errs.String()
}

// The analyzer's testdata module (see package vet) holds planted
// nondeterminism; weft vet must find it, name the place and the chain, and
// fail.
func TestVetFindings(t *testing.T) {
	code, out, errs := runVet(t, "--dir", "../vet/testdata", "./rules", "./chain", "./allowed")
	if code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", code, errs)
	}
	for _, want := range []string{
		"rules/rules.go:31:49: step \"now\": time.Now reads the wall clock",
		"rules/rules.go:", ": step \"go\": go statement starts a goroutine",
		"chain/chain.go:", `step "charge" calls pay -> now -> clock.Stamp -> Now: time.Now reads the wall clock`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "allowed/") {
		t.Errorf("findings in deterministic code:\n%s", out)
	}
	lines := strings.Count(out, "\n")
	var n int
	_, after, _ := strings.Cut(errs, "nondeterminism in workflow code: ")
	if _, err := fmt.Sscanf(after, "%d findings", &n); err != nil || n != lines {
		t.Errorf("stderr %q does not count the %d findings printed", errs, lines)
	}
	if lines < 40 {
		t.Errorf("%d findings printed, want at least 40:\n%s", lines, out)
	}
}

func TestVetClean(t *testing.T) {
	code, out, errs := runVet(t, "--dir", "../vet/testdata", "./allowed")
	if code != 0 || out != "" {
		t.Fatalf("exit status %d, output %q, stderr %q; want 0 and nothing", code, out, errs)
	}
	// weft's own examples are deterministic.
	code, out, errs = runVet(t, "--dir", "..", "./examples/...")
	if code != 0 || out != "" {
		t.Fatalf("examples: exit status %d, output %q, stderr %q; want 0 and nothing", code, out, errs)
	}
}

func TestVetErrors(t *testing.T) {
	if code, _, errs := runVet(t, "--no-such-flag"); code != 2 {
		t.Errorf("bad flag: exit status %d, want 2 (stderr %q)", code, errs)
	}
	code, _, errs := runVet(t, "--dir", "../vet/testdata", "./no/such/package")
	if code != 1 || !strings.Contains(errs, "load packages") {
		t.Errorf("missing package: exit status %d, stderr %q; want 1 and a load error", code, errs)
	}
}
