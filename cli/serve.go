package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/weftflow/weft/inspector"
)

var serveCommand = Command{
	Name:    "serve",
	Summary: "serve the inspector, web pages over a store, on 127.0.0.1",
	Usage:   "--db FILE|--postgres DSN [--addr HOST:PORT] [--actions]",
	Help: `Serves package inspector's pages over the store: its workflows and
instances, each instance's state, waits and timeline, the diagrams with
their instances on them, and the upgrades' checks. It prints the URL and
runs until interrupted.

Without --actions the pages are read-only and the store is opened
read-only: a bbolt file a running service holds cannot be opened (serve a
copy, or mount the inspector in the service itself); a PostgreSQL store is
read in read-only transactions, next to the services using it.

With --actions the pages can send events, cancel instances and requeue
dead letters (POST forms with CSRF tokens), and the store is opened
read-write. Every action is logged on standard error. Anyone who can
reach the address can act, so --actions needs a loopback address.

Flags:
` + StoreUsage + `  --addr HOST:PORT  where to listen (default 127.0.0.1:8080; port 0 picks one)
  --actions        allow actions (a loopback --addr only)
`,
	Run: runServe,
}

func runServe(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("serve")
	var sf StoreFlags
	sf.Register(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "")
	actions := fs.Bool("actions", false, "")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &UsageError{Msg: fmt.Sprintf("unexpected arguments %q", rest)}
	}
	if err := sf.Check(); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return &UsageError{Msg: "--addr: " + err.Error()}
	}
	if *actions && !loopback(host) {
		return &UsageError{Msg: fmt.Sprintf("--actions lets anyone who reaches %s change instances: give a loopback --addr (127.0.0.1), or mount package inspector behind your service's authentication", *addr)}
	}
	e, closeStore, err := p.openEngine(ctx, sf, !*actions)
	if err != nil {
		return err
	}
	defer closeStore()
	opts := []inspector.Option{inspector.WithLogger(slog.New(slog.NewTextHandler(p.Stderr, nil)))}
	if len(p.Upgrades) > 0 {
		opts = append(opts, inspector.WithUpgrades(p.Upgrades...))
	}
	if *actions {
		// On a loopback address the person at this machine is the user.
		opts = append(opts, inspector.WithActions(func(*http.Request, string) error { return nil }))
	}
	h, err := inspector.New(e, opts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mode := "read-only"
	if *actions {
		mode = "actions on"
	}
	fmt.Fprintf(p.Stdout, "inspector of %s (%s) at http://%s/\n", sf.String(), mode, ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return err
}

// loopback reports whether host names this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
