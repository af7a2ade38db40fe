package storagetest_test

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The planted-store tests run the suite on a faulty store in a child
// process (this test binary again, its child test selected by run and the
// fault named in env), since a failing suite fails the test that runs it.

// failedInChild runs the child and returns the subtests of child that
// failed, and its output. It fails t if the child passed or did not run.
func failedInChild(t *testing.T, child, run, env, fault string, flags ...string) ([]string, []byte) {
	t.Helper()
	// The parent asserts which subtests fail, not how small rapid makes a
	// failing Model run: 2 seconds of minimizing instead of rapid's 30.
	args := append([]string{"-test.run=" + run, "-test.count=1", "-rapid.nofailfile", "-rapid.shrinktime=2s"}, flags...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), env+"="+fault)
	// Under the race detector a process sleeps a second at exit unless told not to.
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a planted store (%s):\n%s", fault, out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("running the suite: %v", err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`--- FAIL: `+child+`/(\w+)`).FindAllSubmatch(out, -1) {
		got = append(got, string(m[1]))
	}
	return got, out
}

// anyOther, as wantFailed's may, lets any other subtest fail.
var anyOther = []string{"*"}

// wantFailed checks the failed subtests got: every one of must, and no
// other than those of may.
func wantFailed(t *testing.T, got, must, may []string) {
	t.Helper()
	for _, name := range must {
		if !slices.Contains(got, name) {
			t.Errorf("subtest %s passed; failed: %v", name, got)
		}
	}
	for _, name := range got {
		if !slices.Contains(must, name) && !slices.Contains(may, name) && !slices.Equal(may, anyOther) {
			t.Errorf("subtest %s failed, which it should not for this fault", name)
		}
	}
	t.Logf("failed subtests: %v", got)
}
