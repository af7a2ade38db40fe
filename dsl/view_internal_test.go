package dsl

import (
	"testing"

	"github.com/weftflow/weft/internal/ast"
)

// The public kinds are the internal tree's, value for value: Node.Kind and
// Node.Trigger are conversions.
func TestKindsMatchTheTree(t *testing.T) {
	kinds := map[Kind]ast.Kind{
		KindRoot: ast.Root, KindSection: ast.Block, KindStep: ast.Step, KindIf: ast.If, KindArm: ast.Branch,
		KindLoop: ast.Loop, KindBreak: ast.Break, KindContinue: ast.Continue, KindWait: ast.Wait, KindOn: ast.On,
		KindCall: ast.Call, KindWaitFor: ast.WaitFor, KindGo: ast.Go, KindJoin: ast.Join, KindReturn: ast.Return,
		KindFail: ast.Fail, KindChild: ast.Child,
	}
	if len(kinds) != int(ast.Child) {
		t.Fatalf("%d public kinds for %d internal ones", len(kinds), ast.Child)
	}
	for k, a := range kinds {
		if uint8(k) != uint8(a) || k.String() != a.String() {
			t.Errorf("kind %d (%s) is internal %d (%s)", k, k, a, a)
		}
	}
	triggers := map[TriggerKind]ast.TriggerKind{TriggerTimer: ast.Timer, TriggerCustom: ast.Custom}
	for k, a := range triggers {
		if uint8(k) != uint8(a) || k.String() != a.String() {
			t.Errorf("trigger %d (%s) is internal %d (%s)", k, k, a, a)
		}
	}
}
