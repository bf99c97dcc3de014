package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Wake-ups across nodes. A commit that made work signals this process's
// workers at once (Work, StatusChanges, StatusWork); on PostgreSQL the same
// transaction also queues a NOTIFY, which the server delivers to every other
// node when, and only if, the transaction commits. Each node keeps one
// connection of its own that LISTENs and turns those notifications into the
// same local signals, so that a job created on one node is claimed within
// milliseconds by whichever node gets to it first, and a status page cached
// on every node is re-rendered at once. If that connection is lost the
// workers' capped sleeps (10 s) are the safety net until it is back.

// The notification channels: one per local signal.
const (
	channelWork       = "klaxon_work"        // Work: escalations and notification jobs
	channelStatus     = "klaxon_status"      // StatusChanges: the status page changed
	channelStatusWork = "klaxon_status_work" // StatusWork: status deliveries to send
)

// The listener's timings.
const (
	// listenQuiet is how long the listener waits for a notification
	// before it checks that its connection still answers: a connection
	// that died silently (a network partition) is noticed within it.
	listenQuiet = 30 * time.Second
	// listenCheck bounds that check, and listenConnect one connection
	// attempt with its LISTEN statements.
	listenCheck   = 5 * time.Second
	listenConnect = 10 * time.Second
	// Reconnection attempts back off from listenRetryMin to listenRetryMax.
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// notify queues, in tx, a notification on channel for the other nodes; the
// server delivers it when tx commits. A no-op on SQLite. Several
// notifications on one channel in one transaction are delivered as one.
func (s *Store) notify(ctx context.Context, tx *sql.Tx, channel string) error {
	if s.dialect.notify == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.dialect.notify, channel, s.notifyPayload); err != nil {
		return fmt.Errorf("store: notify %s: %w", channel, err)
	}
	return nil
}

// listener is this node's LISTEN connection: it turns the other nodes'
// notifications into this node's local signals.
type listener struct {
	s *Store
	// schema and self are what a notification's payload ("schema self")
	// must and must not carry: other schemas on the same database (tests,
	// tenants) are other clusters, and this store's own notifications
	// were already signalled locally at commit.
	schema, self string
	signals      map[string]chan struct{}
	log          *slog.Logger

	pid  atomic.Uint32 // the listening backend's pid; 0 while disconnected
	stop context.CancelFunc
	done chan struct{}
}

// dedicatedConn opens a PostgreSQL connection outside the pool, for a
// session that must stay one session (LISTEN, a singleton's advisory lock)
// and must not hold a pooled connection forever. app names it in
// pg_stat_activity unless the URL names the application.
func (s *Store) dedicatedConn(ctx context.Context, app string) (*pgx.Conn, error) {
	cfg := s.pgConfig.Copy()
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = app
	}
	// A wait that times out only sets a deadline on the socket: the
	// default, a cancel request, would open a connection to the server
	// every time an idle wait times out, for nothing (there is no query
	// to cancel).
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	ctx, cancel := context.WithTimeout(ctx, listenConnect)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

// closeConn closes a dedicated connection, waiting at most a second for
// the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// startListener connects and LISTENs before it returns, so that no commit
// made after Open returns can go unheard, then keeps listening (and
// reconnecting) in the background until close.
func (s *Store) startListener(ctx context.Context, schema, self string) (*listener, error) {
	l := &listener{s: s, schema: schema, self: self, log: s.log, done: make(chan struct{}),
		signals: map[string]chan struct{}{channelWork: s.work, channelStatus: s.statusChanges, channelStatusWork: s.statusWork}}
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	l.pid.Store(conn.PgConn().PID())
	runCtx, stop := context.WithCancel(context.Background())
	l.stop = stop
	go l.run(runCtx, conn)
	return l, nil
}

// connect opens a connection and LISTENs on every channel.
func (l *listener) connect(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, listenConnect)
	defer cancel()
	conn, err := l.s.dedicatedConn(ctx, "klaxon listener")
	if err != nil {
		return nil, fmt.Errorf("store: listener: connect: %w", err)
	}
	// The listener is quiet for up to listenQuiet: a server-wide
	// idle_session_timeout shorter than that would end it again and again.
	// (An error means a PostgreSQL before 14, which has no such timeout.)
	_, _ = conn.Exec(ctx, "SET idle_session_timeout = 0")
	for channel := range l.signals {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("store: listener: listen %s: %w", channel, err)
		}
	}
	return conn, nil
}

// run serves conn, and after it is lost reconnects with backoff, until
// ctx ends.
func (l *listener) run(ctx context.Context, conn *pgx.Conn) {
	defer close(l.done)
	retry := listenRetryMin
	for {
		if conn != nil {
			err := l.serve(ctx, conn)
			l.pid.Store(0)
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("store: lost the connection that hears other nodes' work; reconnecting (meanwhile their work waits up to the workers' 10 s timed pass)", "err", err)
			conn, retry = nil, listenRetryMin
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		c, err := l.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			retry = min(retry*2, listenRetryMax)
			l.log.Warn("store: reconnecting the listener failed; retrying", "err", err, "retry_in", retry.String())
			continue
		}
		// What the other nodes committed while this one was deaf was
		// never heard: every worker looks now. Signalled before the pid
		// is published, so that whoever sees the new pid has seen this.
		for _, c := range l.signals {
			signal(c)
		}
		l.pid.Store(c.PgConn().PID())
		l.log.Info("store: listener reconnected; hearing other nodes' work again")
		conn = c
	}
}

// serve turns notifications on conn into local signals until conn fails
// or ctx ends, and closes conn.
func (l *listener) serve(ctx context.Context, conn *pgx.Conn) error {
	defer closeConn(conn)
	for {
		wait, cancel := context.WithTimeout(ctx, listenQuiet)
		n, err := conn.WaitForNotification(wait)
		quiet := wait.Err() != nil
		cancel()
		switch {
		case err == nil:
			l.deliver(n)
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !quiet:
			return err
		}
		check, cancel := context.WithTimeout(ctx, listenCheck)
		err = conn.Ping(check)
		cancel()
		if err != nil {
			return fmt.Errorf("store: listener: check connection: %w", err)
		}
	}
}

// deliver signals the channel a notification names, unless it came from
// another schema or from this store itself.
func (l *listener) deliver(n *pgconn.Notification) {
	i := strings.LastIndexByte(n.Payload, ' ')
	if i < 0 || n.Payload[:i] != l.schema || n.Payload[i+1:] == l.self {
		return
	}
	if c, ok := l.signals[n.Channel]; ok {
		signal(c)
	}
}

// close stops listening and waits for the connection to close.
func (l *listener) close() {
	l.stop()
	<-l.done
}
