package interp

import "github.com/weftflow/weft/dsl"

// barrier is deferred by every exported entry point of the interpreter: it
// turns a panic of weft's own code into an *InternalError and drops any
// partial result. Panics in user code never get here; they are recovered
// where the user function is called and handled by the workflow.
func barrier(op string, def *dsl.Definition, meta Meta, res *Result, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if res != nil {
		*res = Result{}
	}
	*err = &InternalError{Op: op, Workflow: workflowName(def), Instance: meta.Instance, Value: r}
}

// workflowName must not panic itself: it runs inside the barrier.
func workflowName(def *dsl.Definition) (name string) {
	defer func() {
		if recover() != nil {
			name = ""
		}
	}()
	if def == nil {
		return ""
	}
	return def.Name()
}

func nilDefinition(op string, meta Meta) error {
	return &InternalError{Op: op, Instance: meta.Instance, Value: "nil definition"}
}
