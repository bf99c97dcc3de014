package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon"
)

// Several nodes on one PostgreSQL database: singleton duties, held by an
// advisory lock, and membership, a row per node that it refreshes itself.
// (Work is shared with leases and FOR UPDATE SKIP LOCKED, see
// escalations.go and notifications.go; wake-ups are in notify.go.)

// The singleton timings.
const (
	// singletonPoll is how often a node that waits for a duty tries to
	// take it, and how long the holder's connection may stay quiet before
	// the holder checks that it still answers.
	singletonPoll = 2 * time.Second
	// singletonCheck bounds one such check, and the release of a duty: a
	// database that does not answer within it counts as lost.
	singletonCheck = 5 * time.Second
	// singletonIdle is the server's side of the same watch: a lock
	// session whose node sent nothing for this long (its machine died or
	// was cut off, and the socket stays half-open) is ended by the server
	// (idle_session_timeout, PostgreSQL 14 and later), which frees the
	// duty for another node.
	singletonIdle = "10s"
)

// RunSingleton runs a duty that exactly one node must run at a time (the
// status page's timed work, the canary): run(ctx2) runs while this node
// holds the duty, and ctx2 ends when it stops holding it. RunSingleton
// returns when ctx ends, after run has returned and the duty is released.
//
// On PostgreSQL the duty is a session-level advisory lock, named by name
// within the schema, held on a connection of its own outside the pool (so
// it never takes a connection from the queries the pool is sized for). A
// node that does not hold it tries again every 2 s. The holder hears at
// once when its session is ended (the server closes it, the process
// holding the other end dies) and checks a quiet connection every 2 s; a
// lost connection ends ctx2 and starts over, while the server, which
// released the lock with the session, lets another node take the duty. If
// run returns before ctx ends, the duty is released and taken again later
// (by any node). On SQLite, where one process owns the file, run(ctx)
// simply runs.
func (s *Store) RunSingleton(ctx context.Context, name string, run func(ctx context.Context)) {
	if s.dialect.tryLock == "" {
		run(ctx)
		return
	}
	for {
		err := s.holdSingleton(ctx, name, run)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("store: singleton duty interrupted; trying again", "duty", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(singletonPoll):
		}
	}
}

// holdSingleton waits on a connection of its own until it holds the duty,
// runs it until ctx ends, run returns or the connection is lost, and
// closes the connection (whose session's end releases the lock if the
// explicit release could not run). The error says why it stopped, when ctx
// has not ended.
func (s *Store) holdSingleton(ctx context.Context, name string, run func(ctx context.Context)) error {
	conn, err := s.dedicatedConn(ctx, "klaxon "+name)
	if err != nil {
		return fmt.Errorf("store: singleton %s: connect: %w", name, err)
	}
	defer closeConn(conn)
	// Best effort: servers before PostgreSQL 14 lack the setting, and then
	// only TCP keepalives free the duty of a node cut off mid-session.
	_, _ = conn.Exec(ctx, "SET idle_session_timeout = '"+singletonIdle+"'")
	for {
		var held bool
		if err := conn.QueryRow(ctx, s.dialect.tryLock, name).Scan(&held); err != nil {
			return fmt.Errorf("store: singleton %s: try lock: %w", name, err)
		}
		if held {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(singletonPoll):
		}
	}
	s.log.Info("store: this node runs a singleton duty", "duty", name)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	// watch ends with ctx, and when run returns by itself.
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stopWatch()
		run(runCtx)
	}()
	for {
		err := watchConn(watch, conn)
		if watch.Err() != nil {
			stopRun()
			<-done // the next holder must not overlap with this one
			s.unlockSingleton(conn, name)
			return nil
		}
		if err != nil {
			stopRun()
			<-done
			return fmt.Errorf("store: singleton %s: lost the connection that held it: %w", name, err)
		}
	}
}

// watchConn waits until conn fails, ctx ends, or singletonPoll passes
// quietly and a check of conn succeeds (nil). A session the server ends
// says so on the socket, so that is heard at once, not at the next check.
func watchConn(ctx context.Context, conn *pgx.Conn) error {
	wait, cancel := context.WithTimeout(ctx, singletonPoll)
	err := conn.PgConn().WaitForNotification(wait) // nothing LISTENs here: returns on failure or timeout
	quiet := wait.Err() != nil
	cancel()
	if ctx.Err() != nil || !quiet {
		return err
	}
	check, cancel := context.WithTimeout(ctx, singletonCheck)
	defer cancel()
	return conn.Ping(check)
}

// unlockSingleton releases the duty at once; if it cannot, closing the
// connection (which follows) releases it when the server ends the session.
func (s *Store) unlockSingleton(conn *pgx.Conn, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), singletonCheck)
	defer cancel()
	if _, err := conn.Exec(ctx, s.dialect.unlock, name); err != nil {
		s.log.Warn("store: release singleton duty; closing its connection releases it", "duty", name, "err", err)
	}
}

// nodeRetention is how long a node that stopped recording itself is still
// listed (as not alive); after it, its row is deleted.
const nodeRetention = 7 * 24 * time.Hour

// Heartbeat records that node n is running: its row is created or updated
// with last_seen now (the cluster's clock, see clusterNow). A node calls it every few seconds
// for as long as it runs. Its StartedAt is kept from the first heartbeat
// (now, if zero). Rows not seen for a week are deleted on the way. Like a
// lease, it is not fsynced: a heartbeat lost in a power cut is replaced
// by the next.
func (s *Store) Heartbeat(ctx context.Context, n klaxon.Node) error {
	if err := n.Validate(); err != nil {
		return err
	}
	return s.claim(ctx, func(tx *sql.Tx) error {
		now, err := s.clusterNow(ctx, tx)
		if err != nil {
			return err
		}
		if n.StartedAt.IsZero() {
			n.StartedAt = now
		}
		// Stale rows first: a transaction that deleted after its upsert
		// could wait on another node's upsert while that node waits on it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM nodes WHERE last_seen < $1 AND id <> $2`, toDB(now.Add(-nodeRetention)), n.ID); err != nil {
			return fmt.Errorf("store: forget old nodes: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, version, host, pid, started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, host = excluded.host, pid = excluded.pid, last_seen = excluded.last_seen`,
			n.ID, n.Version, n.Host, n.PID, toDB(n.StartedAt), toDB(now)); err != nil {
			return fmt.Errorf("store: heartbeat of node %s: %w", n.ID, err)
		}
		return nil
	})
}

// ListNodes returns the nodes seen within the last week at now, the most
// recently started first; Alive says a node was seen within aliveWithin
// of now. On PostgreSQL now is the database's clock, whatever is passed
// (last_seen is written with it), unless the store was given a clock.
func (s *Store) ListNodes(ctx context.Context, now time.Time, aliveWithin time.Duration) ([]klaxon.Node, error) {
	if s.dbClock {
		var err error
		if now, err = s.clusterNow(ctx, s.r); err != nil {
			return nil, err
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, version, host, pid, started_at, last_seen FROM nodes WHERE last_seen >= $1 ORDER BY started_at DESC, id`,
		toDB(now.Add(-nodeRetention)))
	if err != nil {
		return nil, fmt.Errorf("store: list nodes: %w", err)
	}
	defer rows.Close()
	out := []klaxon.Node{}
	for rows.Next() {
		var n klaxon.Node
		var started, seen int64
		if err := rows.Scan(&n.ID, &n.Version, &n.Host, &n.PID, &started, &seen); err != nil {
			return nil, fmt.Errorf("store: list nodes: %w", err)
		}
		n.StartedAt, n.LastSeen = fromDB(started), fromDB(seen)
		n.Alive = !n.LastSeen.Before(now.Add(-aliveWithin))
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list nodes: %w", err)
	}
	return out, nil
}

// ReleaseLeasesOfDeadNodes ends, at once, the leases held by nodes not seen
// for deadAfter (other than self; "seen" by the cluster's clock): the escalations, notification jobs
// and status deliveries a killed node had claimed become claimable by the
// others now instead of when their leases run out (up to 40 s for a page
// being sent), and every node is woken to take them. A node that was only
// slow keeps working, and what it was sending may go out twice (with the
// same idempotency key, which webhooks and the SMS gateway carry; a
// second email or call otherwise). It returns how many leases it ended.
func (s *Store) ReleaseLeasesOfDeadNodes(ctx context.Context, self string, now time.Time, deadAfter time.Duration) (int, error) {
	var released int64
	err := s.claim(ctx, func(tx *sql.Tx) error {
		released = 0
		seen, err := s.clusterNow(ctx, tx)
		if err != nil {
			return err
		}
		dead := `lease_owner IN (SELECT id FROM nodes WHERE last_seen < $1 AND id <> $2)`
		cutoff := toDB(seen.Add(-deadAfter))
		for _, q := range []struct {
			sql  string
			args []any
		}{
			// A claimed escalation is due when its lease ends (the claim
			// moves due_at there): due now, so that it is claimed now.
			{`UPDATE escalations SET lease_owner = '', lease_until = 0, due_at = CASE WHEN due_at > $3 THEN $3 ELSE due_at END WHERE lease_owner <> '' AND ` + dead,
				[]any{cutoff, self, toDB(now)}},
			{`UPDATE notifications SET lease_owner = '', lease_until = 0 WHERE status = 'pending' AND lease_owner <> '' AND ` + dead, []any{cutoff, self}},
			{`UPDATE status_deliveries SET lease_owner = '', lease_until = 0 WHERE status = 'pending' AND lease_owner <> '' AND ` + dead, []any{cutoff, self}},
		} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("store: release the leases of dead nodes: %w", err)
			}
			n, _ := res.RowsAffected()
			released += n
		}
		if released == 0 {
			return nil
		}
		if err := s.notify(ctx, tx, channelWork); err != nil {
			return err
		}
		return s.notify(ctx, tx, channelStatusWork)
	})
	if err != nil {
		return 0, err
	}
	if released > 0 {
		s.signalWork()
		signal(s.statusWork)
	}
	return int(released), nil
}

// clusterNow is the cluster's one clock for membership: the database's on
// PostgreSQL (nodes' own clocks may disagree by seconds, which would make
// live nodes look dead to a node whose clock runs ahead), the store's on
// SQLite (one process) and in tests that give the store a clock.
func (s *Store) clusterNow(ctx context.Context, q queryRower) (time.Time, error) {
	if !s.dbClock {
		return s.now(), nil
	}
	var us int64
	if err := q.QueryRowContext(ctx, `SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)`).Scan(&us); err != nil {
		return time.Time{}, fmt.Errorf("store: the database's clock: %w", err)
	}
	return fromDB(us), nil
}
