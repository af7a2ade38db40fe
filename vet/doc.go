// Package vet is a static analyzer that finds nondeterminism in workflow
// code: the functions passed to package dsl's constructors (steps,
// conditions, event handlers, timer functions, thread IDs, outputs, call
// results, migration upcasters). It also reports statements built in a loop
// over a map, whose order would change the definition from one process to
// the next. Its [Analyzer] runs under go vet (cmd/weft-vet), the weft
// command line (weft vet) or any driver of golang.org/x/tools/go/analysis.
//
// That code runs inside the pure interpreter. It may run more than once for
// one event (a retried step, a replayed transition, the simulator's
// determinism check) and must give the same answer every time. The
// simulator catches a difference it sees between two runs; this analyzer
// also catches the ones that happen to agree in a test run: a branch on the
// wall clock that answers the same twice, map order that happens to match,
// a goroutine that happens to finish first.
//
// # What it reports
//
//   - wall clock: time.Now, time.Since, time.Until, time.Sleep, timers and
//     tickers, the host's time zone (time.Local, Time.Local, LoadLocation);
//   - randomness: the top-level functions of math/rand and math/rand/v2
//     (a generator made with rand.New from a seed in the state is fine),
//     and all of crypto/rand;
//   - map iteration order: range over a map, maps.Keys, maps.Values and
//     maps.All, unless sorted by slices.Sorted or slices.SortedFunc, or the
//     loop body cannot depend on the order (see below);
//   - goroutines, channel sends and receives, select;
//   - package-level variables: any write, and any read of a variable that its
//     package writes outside its declaration and init functions;
//   - the process and the outside world: package os (environment, files,
//     process), os/exec, os/signal, os/user, syscall, net, the I/O of
//     net/http, runtime, and reading stdin with fmt.Scan. Writing logs (log,
//     slog, fmt.Print) is not reported: it changes nothing the workflow
//     reads.
//
// Calls are followed into every function of the analysed packages, named
// functions and methods called statically or used as values (f :=
// time.Now, a callback), across packages by means of analysis facts;
// function literals count as part of the function they appear in. A finding
// names the chain, as in
//
//	step "charge" calls pay -> now: time.Now reads the wall clock ...
//
// A function that passes one of its parameters on to a dsl constructor
// (a team's own kit.Step wrapping dsl.Step) is a wrapper: the arguments of
// its calls are checked as workflow code too, in any package, to any depth.
//
// The functions of the standard library are not followed: the list above is
// what is known to be nondeterministic there, and the rest is trusted.
// Calls through interfaces and function values are not followed, except a
// variable, never reassigned, that holds a function literal and is passed
// to a constructor.
//
// The activity of a dsl.Call (its second argument) is exempt: activities
// run outside the interpreter and their result is recorded, so they are the
// place for nondeterministic work. A step's side effects run at least once
// and the user accepts that; a step's nondeterminism is still reported,
// because what the step writes to the state must not differ between runs.
//
// # Package-level variables
//
// A package-level variable may be read by workflow code when its package
// never writes it outside its declaration and init functions. A write is an
// assignment to it or through it (v = x, v[k] = x, v.f = x, *v = x, v++),
// taking its address, calling a pointer method on it, copy, clear or delete
// with it as the destination, and sorting it in place. Writes through an
// alias made elsewhere (a pointer passed to a function) are not seen, nor
// are writes to an exported variable from another package, unless workflow
// code makes them.
// Variables of the standard library are trusted, except os.Args and
// time.Local.
//
// # Map loops whose order cannot leak
//
// A range over a map is accepted when its body only adds to integers
// (n++, n += v), stores into a map under the loop's key, deletes, or skips
// (continue, if without else-branches that do anything else), and when it
// only appends to a slice that the next statements sort (sort.Strings,
// slices.Sort, sort.Slice ...). Everything else is reported, even when a
// person can see the order does not matter (a maximum): rewrite the loop over
// slices.Sorted(maps.Keys(m)) or suppress the finding.
//
// # Suppressing a finding
//
// A comment
//
//	//weft:allow-nondeterminism the cache only speeds up a pure lookup
//
// at the end of the line of a finding, or alone on the line above it,
// suppresses it; in the doc comment of a function it marks the whole
// function as deterministic for its callers. The reason is required: a suppression without one is itself
// reported.
//
// # Running it
//
//	go vet -vettool=$(which weft-vet) ./...   # cmd/weft-vet
//	weft vet ./...                           # package cli, the weft command
package vet
