package vet

import (
	"go/types"
	"strings"
)

// The kinds of nondeterminism, each with why it breaks a replay and what to
// do instead. %s is the construct found.
const (
	whyClock   = "%s reads the wall clock, which differs between a run and its replay; use the time of the event (dsl.After, dsl.At, a payload field) or read it in a dsl.Call activity"
	whyTimer   = "%s waits on the wall clock inside the interpreter; wait with dsl.Wait and dsl.After or dsl.At"
	whyZone    = "%s depends on the host's time zone; use time.UTC or time.FixedZone"
	whyRand    = "%s draws random numbers, different on every run; draw them in a dsl.Call activity and keep the result in the state, or use rand.New with a seed from the state"
	whyEnv     = "%s reads the process environment, which differs between hosts and runs; pass the value in the state or an event payload"
	whyIO      = "%s does I/O, whose result differs between runs; do it in a dsl.Call activity"
	whyProcess = "%s depends on the process, not on the workflow state; do not branch on it in workflow code"
	whyMap     = "%s visits the keys in a random order, different on every run; iterate slices.Sorted(maps.Keys(m)) instead"
	whyGo      = "%s starts a goroutine, whose timing is neither stored nor replayed; run concurrent work as dsl.Go threads or in a dsl.Call activity"
	whyChan    = "%s synchronizes with other goroutines, which are neither stored nor replayed; pass data through the state or an event"
	whyWrite   = "writes package-level variable %s, which is neither stored nor replayed and is written again by every retry and replay; keep the value in the workflow state"
	whyRead    = "reads package-level variable %s, which is written outside init (%s), so its value depends on what ran before; keep the value in the workflow state"
)

// stdRule returns the reason a call of the standard library function fn is
// nondeterministic, or "" if it is trusted.
func stdRule(fn *types.Func) string {
	pkg := fn.Pkg().Path()
	recv := recvName(fn)
	name := fn.Name()
	full := pkg + "." + name
	if recv != "" {
		full = pkg + "." + recv + "." + name
	}
	shown := shortName(fn)
	switch pkg {
	case "time":
		switch full {
		case "time.Now", "time.Since", "time.Until":
			return sprintf(whyClock, shown)
		case "time.Sleep", "time.After", "time.AfterFunc", "time.Tick", "time.NewTimer", "time.NewTicker",
			"time.Timer.Reset", "time.Timer.Stop", "time.Ticker.Reset", "time.Ticker.Stop":
			return sprintf(whyTimer, shown)
		case "time.Time.Local", "time.LoadLocation":
			return sprintf(whyZone, shown)
		}
		return ""
	case "math/rand", "math/rand/v2":
		if recv != "" || strings.HasPrefix(name, "New") {
			return "" // a generator the code seeds itself is deterministic
		}
		return sprintf(whyRand, shown)
	case "crypto/rand":
		return sprintf(whyRand, shown)
	case "os":
		switch name {
		case "IsExist", "IsNotExist", "IsPermission", "IsTimeout":
			if recv == "" {
				return ""
			}
		case "Getenv", "LookupEnv", "Environ", "ExpandEnv", "Hostname", "Getpid", "Getppid", "Getuid", "Geteuid",
			"Getgid", "Getegid", "Getwd", "Executable", "UserHomeDir", "UserCacheDir", "UserConfigDir", "TempDir":
			if recv == "" {
				return sprintf(whyEnv, shown)
			}
		}
		return sprintf(whyIO, shown)
	case "os/exec", "os/signal", "os/user", "syscall", "net/rpc", "net/smtp":
		return sprintf(whyIO, shown)
	case "io/ioutil":
		switch name {
		case "ReadFile", "WriteFile", "ReadDir", "TempDir", "TempFile":
			return sprintf(whyIO, shown)
		}
		return ""
	case "net":
		switch recv {
		case "IP", "IPNet", "IPMask", "HardwareAddr", "AddrError", "ParseError", "DNSError", "OpError":
			return ""
		}
		switch name {
		case "ParseIP", "ParseCIDR", "IPv4", "IPv4Mask", "CIDRMask", "JoinHostPort", "SplitHostPort", "ParseMAC":
			return ""
		}
		return sprintf(whyIO, shown)
	case "net/http":
		switch recv {
		case "Client", "Transport", "Server":
			return sprintf(whyIO, shown)
		}
		switch name {
		case "Get", "Head", "Post", "PostForm", "ListenAndServe", "ListenAndServeTLS", "Serve", "ServeTLS":
			if recv == "" {
				return sprintf(whyIO, shown)
			}
		}
		return ""
	case "runtime":
		return sprintf(whyProcess, shown)
	case "fmt":
		switch name {
		case "Scan", "Scanf", "Scanln":
			return sprintf(whyIO, shown+" (stdin)")
		}
		return ""
	case "maps":
		switch name {
		case "Keys", "Values", "All":
			return sprintf(whyMap, shown)
		}
		return ""
	case "reflect":
		switch full {
		case "reflect.Value.MapKeys", "reflect.Value.MapRange", "reflect.Value.Seq", "reflect.Value.Seq2":
			return sprintf(whyMap, shown)
		}
		return ""
	}
	return ""
}

// stdVarRule returns the reason a use of the standard library's
// package-level variable v is nondeterministic, or "" if it is trusted.
func stdVarRule(v *types.Var) string {
	switch v.Pkg().Path() + "." + v.Name() {
	case "os.Args":
		return sprintf(whyEnv, "os.Args")
	case "time.Local":
		return sprintf(whyZone, "time.Local")
	}
	return ""
}

// sortedIter reports whether fn sorts the sequence it is given, so a map
// iterator passed to it yields a deterministic result.
func sortedIter(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Pkg().Path() != "slices" {
		return false
	}
	switch fn.Name() {
	case "Sorted", "SortedFunc", "SortedStableFunc":
		return true
	}
	return false
}

// sortsInPlace reports whether fn sorts (and so writes) its first argument.
func sortsInPlace(fn *types.Func) bool {
	if fn.Pkg() == nil {
		return false
	}
	switch fn.Pkg().Path() {
	case "sort":
		switch fn.Name() {
		case "Strings", "Ints", "Float64s", "Slice", "SliceStable", "Sort", "Stable":
			return recvName(fn) == ""
		}
	case "slices":
		switch fn.Name() {
		case "Sort", "SortFunc", "SortStableFunc", "Reverse":
			return true
		}
	}
	return false
}

// isStd reports whether path is a package of the standard library: its
// first element is one of the standard library's top-level directories. (A
// dot-free first element alone is not enough: a module may be named
// "myapp".)
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return stdRoots[first]
}

// stdRoots are the top-level directories of GOROOT/src that hold packages.
var stdRoots = map[string]bool{
	"archive": true, "arena": true, "bufio": true, "builtin": true, "bytes": true, "cmd": true, "cmp": true,
	"compress": true, "container": true, "context": true, "crypto": true, "database": true, "debug": true,
	"embed": true, "encoding": true, "errors": true, "expvar": true, "flag": true, "fmt": true, "go": true,
	"hash": true, "html": true, "image": true, "index": true, "internal": true, "io": true, "iter": true,
	"log": true, "maps": true, "math": true, "mime": true, "net": true, "os": true, "path": true,
	"plugin": true, "reflect": true, "regexp": true, "runtime": true, "simd": true, "slices": true,
	"sort": true, "strconv": true, "strings": true, "structs": true, "sync": true, "syscall": true,
	"testing": true, "text": true, "time": true, "unicode": true, "unique": true, "unsafe": true,
	"vendor": true, "weak": true, "C": true,
}

// recvName returns the name of fn's receiver's type, or "" for a function.
func recvName(fn *types.Func) string {
	sig, ok := fn.Type().(*types.Signature)
	if !ok || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	switch t := types.Unalias(t).(type) {
	case *types.Named:
		return t.Obj().Name()
	case *types.Interface:
		return "interface"
	}
	return ""
}

// shortName renders fn as it is written in code: pkg.F or pkg.T.M.
func shortName(fn *types.Func) string {
	name := fn.Name()
	if r := recvName(fn); r != "" {
		name = r + "." + name
	}
	if fn.Pkg() != nil {
		name = fn.Pkg().Name() + "." + name
	}
	return name
}
