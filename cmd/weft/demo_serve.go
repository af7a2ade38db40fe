package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
)

// serveDemo serves the inspector over the demo's engine on addr (a
// loopback address) until ctx ends, with actions on, and runs the
// engine meanwhile, so that events sent from the pages are carried
// through.
func (d *demo) serveDemo(ctx context.Context, addr string, log *slog.Logger) error {
	h, err := inspector.New(d.e,
		inspector.WithClock(d.clock.Now),
		inspector.WithUpgrades(pizza.WorkflowV2),
		inspector.WithLogger(log),
		// The demo listens on a loopback address only: the person at
		// this machine is the user.
		inspector.WithActions(func(*http.Request, string) error { return nil }))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- d.e.Run(ctx) }()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(d.out, "\nThe inspector of the demo's store: http://%s/ (Ctrl-C stops it)\n", ln.Addr())
	err = srv.Serve(ln)
	cancel()
	if rerr := <-ran; rerr != nil && !errors.Is(rerr, context.Canceled) && err == nil {
		err = rerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// loopbackAddr reports whether addr (HOST:PORT) listens on this machine
// only.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
