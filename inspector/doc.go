// Package inspector is a web page over a weft store: an [http.Handler]
// built from an engine, which a service mounts in its own server, so that
// it reads a live bbolt store inside the process that owns it, and a
// PostgreSQL store from any process. `weft serve` runs it over a store no
// service holds.
//
//	h, err := inspector.New(e, inspector.WithUpgrades(ordersV2))
//	if err != nil { ... }
//	mux.Handle("/inspect/", http.StripPrefix("/inspect", h))
//
// It is for people looking at their workflows (where are the orders
// stuck, which failed and why, what would the next version do to them),
// not an API: programs use package engine, or package httpapi over HTTP.
//
// # Pages
//
//   - Overview: the workflows with their instances counted by status,
//     the instances due soonest, failures and dead-lettered effects.
//   - Instances: filtered by workflow, status and ID prefix, page by page.
//   - Instance: the decoded state as a folding tree, threads and their
//     positions, open waits with their events and timers, the outbox and
//     dead letters, the failure, migrations, and the journal's timeline
//     where one is kept (engine.WithJournal).
//   - Diagram: the definition drawn by package diagram, with the number of
//     live instances parked at each statement, and one instance's threads
//     highlighted (?highlight=ID).
//   - Upgrade: for a definition given with [WithUpgrades], the positions
//     its instances would lose, marked on today's diagram, the summary of
//     simulate.Verify, and simulate.Plan for one instance and event.
//
// Pages are rendered on the server with html/template; the stylesheet and a
// small script (local times, confirmations) are embedded, so it works
// offline and without the script. Every link is relative: mount it under
// a path that ends in "/".
//
// # Security
//
// It is read-only unless [WithActions] is given: the action routes do not
// exist and no page has a form that posts. With it, a page can send an
// event (its payload as JSON, decoded into the event's payload type),
// cancel an instance and requeue a dead letter. Every action is a POST
// that must pass, in order: the cross-origin check of
// [http.CrossOriginProtection] (Sec-Fetch-Site, Origin); a CSRF token, an
// HMAC under the handler's secret ([WithSecret]) of the action and the
// time the page was made, valid for 12 hours; and the [Authorizer], which
// sees the request (its session, its user) and the action. Each action and
// each refusal is logged with log/slog ([WithLogger]).
//
// Authentication is the host's: mount the handler behind the same
// middleware as the rest of the service's admin pages. The pages show
// workflow states in full, so whoever can read them can read every
// instance. Responses forbid framing and scripts from elsewhere
// (Content-Security-Policy).
//
// # Bounded work
//
// The engine has no index by workflow or status yet, so the instance list
// reads instances in ID order and filters them, at most a budget per
// request ([WithScanLimits]): a page that could not fill within it says so
// and offers the next. The overview, the diagram's counts and the upgrade
// page count at most a census limit of instances and say when they stopped.
package inspector
