package lint_test

import (
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/lint"
)

func TestUpgradePizza(t *testing.T) {
	if f := lint.Upgrade(pizza.Workflow, pizza.WorkflowV2); len(f) > 0 {
		t.Fatalf("pizza v1 -> v2 with its migration: %v", f)
	}
	var got []string
	for _, f := range lint.Upgrade(pizza.Workflow, pizza.WorkflowV2NoMigration()) {
		got = append(got, f.Check+" "+f.Path)
	}
	// Without the migration: the cart loop and its wait are gone, the
	// kitchen is renamed.
	want := "lost-position cart,lost-position cart/shopping,lost-position kitchen"
	if strings.Join(got, ",") != want {
		t.Fatalf("findings %v, want %s", got, want)
	}
}

func TestUpgradeUnusedMigration(t *testing.T) {
	type S struct{}
	step := func(name string) dsl.Stmt { return dsl.Step(name, func(*S) error { return nil }) }
	v1 := dsl.MustCompile[S]("w", dsl.S(step("a"), step("b")))
	v2 := dsl.MustCompile[S]("w", dsl.S(step("a"), step("c")), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1,
		Paths: map[string]string{"b": "c", "typo": "c"}, Removed: map[string]string{"ghost": "a"}}))
	var got []string
	for _, f := range lint.Upgrade(v1, v2) {
		got = append(got, f.Check+" "+f.Path)
	}
	if want := "unused-migration ghost,unused-migration typo"; strings.Join(got, ",") != want {
		t.Fatalf("findings %v, want %s", got, want)
	}
}
