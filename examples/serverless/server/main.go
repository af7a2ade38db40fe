// Command server is examples/serverless as a process to deploy on a
// functions platform or any container host: it serves the sign-up
// service on $PORT (default 8080) over PostgreSQL ($WEFT_POSTGRES_DSN,
// schema $WEFT_SCHEMA, default "weft"). Each request builds its own
// engine; the only thing kept between requests is the connection pool.
//
// Wake-ups are logged here, as JSON lines on stderr: a deployment hands
// them to its delayed-call service instead (a Cloud Tasks HTTP task named
// after the wake-up's ID, scheduled at its time, calling POST
// /instances/{id}/process), and has its scheduler call POST /run-due
// every minute as a backstop. See docs/serverless.md.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/serverless"
	"github.com/weftflow/weft/storage/postgres"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("server stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	schema := os.Getenv("WEFT_SCHEMA")
	if schema == "" {
		schema = "weft"
	}
	store, err := postgres.Open(ctx, os.Getenv("WEFT_POSTGRES_DSN"), postgres.WithSchema(schema))
	if err != nil {
		return err
	}
	defer store.Close()
	h, err := serverless.Handler(serverless.Config{
		Store: store,
		Mailer: engine.SetupFuncs{
			SetupFunc: func(ctx context.Context, info engine.EffectInfo) error {
				var e serverless.Email
				if err := info.Decode(&e); err != nil {
					return err
				}
				log.Info("email: confirmation link", "id", info.ID, "to", e.To, "callback", info.Callback)
				return nil
			},
			TeardownFunc: func(ctx context.Context, info engine.EffectInfo) error {
				log.Info("email: link withdrawn", "id", info.ID)
				return nil
			},
		},
		Scheduler: func(ctx context.Context, w engine.Wakeup) error {
			log.Info("wake-up", "id", w.ID, "instance", w.Instance, "at", w.At)
			return nil
		},
		RunWithin: 20 * time.Second,
	})
	if err != nil {
		return err
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{Addr: ":" + port, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("serving", "port", port, "schema", schema)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
