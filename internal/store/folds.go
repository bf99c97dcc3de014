package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Folding repeated triggers in memory (SQLite only).
//
// In an event storm most events only add to an alert that is already open:
// the alert's row gets event_count + 1 and a new last_event_at, and
// nothing else changes. Writing that row in every group commit cost more
// than anything else on the ingest path, because the storm's alerts are
// spread over many pages and each commit rewrote all of them into the WAL.
//
// One process owns an SQLite file, so the store can know which alerts are
// open: every change of an alert's status goes through this store. A
// trigger for an alert it knows is open is stored as an event row (durable
// in the group's transaction, as always) and its effect on the alert's row
// is added up in memory; the sums are written to the rows at most a second
// later, or sooner when they grow. Readers of alerts add the sums not yet
// written, so no answer shows a stale count. If the process dies before
// the sums are written, Open recounts the alerts of the events past the
// last write (ingest_folds.flushed_through) from the events themselves.
//
// PostgreSQL is shared by nodes that change each other's alerts, so there
// the store keeps no such memory and every event writes its alert's row.
type folds struct {
	// mu orders readers against commits: a reader holds it shared across
	// its query and the sums it adds, and the committer holds it across
	// COMMIT and settling the sums, so no reader counts an event twice or
	// not at all.
	mu sync.RWMutex
	// Committed sums not yet in the alerts' rows, under mu. pending grows;
	// a round of writing out takes all of it into flushing, which the next
	// groups write out a slice each, so that no group stalls on thousands
	// of updates.
	pending, flushing map[int64]foldSum

	// The rest belongs to the transactions on the one write connection:
	// the group committer's and Respond's. openMu only satisfies the race
	// detector; the connection already takes turns.
	openMu sync.Mutex
	open   map[alertKey]int64 // (service, dedup key) → the open alert with it

	staged    map[int64]foldSum // the current group transaction's sums
	newRound  map[int64]foldSum // the round the current transaction starts
	roundMark int64             // the newest event whose sum is in the round under way
	lastRound time.Time         // when the last round started
	recount   bool              // a commit failed with its outcome unknown: recount instead of adding
	// every and minSlice are foldRoundEvery and foldMinSlice; tests change
	// them while the committer runs.
	every, minSlice atomic.Int64
}

type alertKey struct {
	service int64
	dedup   string
}

// foldSum is what events add to one alert and its row does not show yet:
// count folded events, the last at (Unix microseconds), and the ids of all
// its new events, folded or not, in the order they were stored, which is
// ascending (for alert_event_ids).
type foldSum struct {
	count, last int64
	ids         []int64
}

func (s foldSum) plus(t foldSum) foldSum {
	return foldSum{s.count + t.count, max(s.last, t.last), slices.Concat(s.ids, t.ids)}
}

const (
	// foldRoundEvery bounds how long sums stay in memory only: a round of
	// writing them out starts at least this often while events come. Each
	// round writes a row per alert with sums, so longer rounds fold more
	// events into each write (3 s against 1 s: single 8.7–10.4k → 10.8–12.0k
	// events/s, batch 69–84k → 81–90k); the price is a longer recount
	// after a crash (the events of up to two rounds).
	foldRoundEvery = 3 * time.Second
	// foldRoundAlerts starts a round sooner when this many alerts have
	// sums. Rounds that start early fold less: with 100,000 keys, 20,000
	// gave 29.1k and 36.8k events/s, this 31.4k and 42.3k.
	foldRoundAlerts = 200000
	// foldMinSlice is the least a group writes out of a round. A group
	// writes out as many sums as it has events when that is more: each
	// event adds at most one sum, so rounds keep up, and each group's
	// extra work stays in proportion to its own.
	foldMinSlice = 64
	// foldTick is how often the committer, when no group comes, writes
	// out a slice of a round (starting one when due).
	foldTick = 100 * time.Millisecond
	// foldMaxOpen bounds the open alerts remembered (a few MB); triggers
	// for the others take the SQL path, which is only slower.
	foldMaxOpen = 200000
)

func newFolds(now time.Time) *folds {
	f := &folds{pending: map[int64]foldSum{}, flushing: map[int64]foldSum{}, open: map[alertKey]int64{},
		staged: map[int64]foldSum{}, lastRound: now}
	f.every.Store(int64(foldRoundEvery))
	f.minSlice.Store(foldMinSlice)
	return f
}

func (f *folds) openAlert(service int64, dedup string) (int64, bool) {
	if f == nil {
		return 0, false
	}
	f.openMu.Lock()
	defer f.openMu.Unlock()
	id, ok := f.open[alertKey{service, dedup}]
	return id, ok
}

func (f *folds) remember(service int64, dedup string, id int64) {
	f.openMu.Lock()
	defer f.openMu.Unlock()
	if len(f.open) < foldMaxOpen {
		f.open[alertKey{service, dedup}] = id
	}
}

// forget is told of every alert resolved, in the transaction that resolves
// it: a later trigger with its key must open a new alert.
func (f *folds) forget(service int64, dedup string) {
	if f == nil {
		return
	}
	f.openMu.Lock()
	defer f.openMu.Unlock()
	delete(f.open, alertKey{service, dedup})
}

// stage adds event eventID to alert id, in the current group: folded
// (its row does not count it yet) or not (the event's SQL counted it).
func (f *folds) stage(id, eventID, at int64, folded bool) {
	s := f.staged[id]
	if folded {
		s.count++
		s.last = max(s.last, at)
	}
	s.ids = append(s.ids, eventID)
	f.staged[id] = s
}

// eventIDs returns the ids of alert id's events not yet in its lists,
// newest first; the caller is reading.
func (f *folds) eventIDs(id int64) []int64 {
	ids := slices.Concat(f.flushing[id].ids, f.pending[id].ids)
	slices.Reverse(ids)
	return ids
}

// idle tells whether there is nothing to write out.
func (f *folds) idle() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.pending)+len(f.flushing)+len(f.staged) == 0 && !f.recount
}

// foldMode says how much of the folded counts a transaction writes out.
type foldMode uint8

const (
	foldSlice foldMode = iota // a slice of the round under way (starting one when due)
	foldAll                   // every sum there is (at close)
	foldNone                  // none (a request retried alone)
)

// foldWrite is what a group transaction wrote out, settled after COMMIT.
type foldWrite struct {
	recounted, started bool
	written            []int64
}

func (w foldWrite) any() bool { return w.recounted || w.started || len(w.written) > 0 }

// write writes out, in tx, a slice of the round under way (events is the
// group's size), starting a round first when one is due; with all, it
// writes out every sum there is.
// After a commit whose outcome was unknown it recounts instead. Only the
// committer changes pending and flushing, so reading them here needs no
// lock.
func (f *folds) write(ctx context.Context, tx *sql.Tx, now time.Time, events int, all bool) (foldWrite, error) {
	var w foldWrite
	if f.recount {
		w.recounted = true
		return w, recountFolds(ctx, tx)
	}
	round := f.flushing
	if n := len(f.pending) + len(f.staged); len(round) == 0 && n > 0 &&
		(all || n >= foldRoundAlerts || now.Sub(f.lastRound) >= time.Duration(f.every.Load())) {
		// The new round holds every event committed so far and this
		// group's: all of them are counted once it is written out.
		round = make(map[int64]foldSum, n)
		for id, s := range f.pending {
			round[id] = s
		}
		for id, s := range f.staged {
			round[id] = round[id].plus(s)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&f.roundMark); err != nil {
			return w, fmt.Errorf("store: start writing folded counts: %w", err)
		}
		w.started, f.newRound = true, round
	}
	if len(round) == 0 {
		return w, nil
	}
	n := len(round)
	if !all {
		n = min(n, max(int(f.minSlice.Load()), events))
	}
	counts, err := tx.PrepareContext(ctx, `UPDATE alerts SET event_count = event_count + $1,
last_event_at = CASE WHEN last_event_at < $2 THEN $2 ELSE last_event_at END WHERE id = $3`)
	if err != nil {
		return w, fmt.Errorf("store: write folded counts: %w", err)
	}
	defer counts.Close()
	lists, err := tx.PrepareContext(ctx, sqliteDialectHot(insertEventIDsSQL))
	if err != nil {
		return w, fmt.Errorf("store: write alert event ids: %w", err)
	}
	defer lists.Close()
	for id, s := range round {
		if len(w.written) == n {
			break
		}
		if s.count > 0 {
			if _, err := counts.ExecContext(ctx, s.count, s.last, id); err != nil {
				return w, fmt.Errorf("store: write folded counts of alert %d: %w", id, err)
			}
		}
		if len(s.ids) > 0 {
			if err := insertEventIDs(ctx, lists, id, s.ids); err != nil {
				return w, err
			}
		}
		w.written = append(w.written, id)
	}
	if len(w.written) == len(round) {
		// The round is done: every event up to its mark is counted.
		if _, err := tx.ExecContext(ctx, `UPDATE ingest_folds SET flushed_through = $1 WHERE id = 1`, f.roundMark); err != nil {
			return w, fmt.Errorf("store: mark folded counts written: %w", err)
		}
	}
	return w, nil
}

const insertEventIDsSQL = `INSERT INTO alert_event_ids (alert_id, first_id, n, ids) VALUES ($1, $2, $3, $4)`

// maxListIDs bounds one alert_event_ids row (as the migration does), so that
// reading an alert's newest events never decodes a huge list.
const maxListIDs = 4096

// insertEventIDs writes an alert's new event ids (ascending) as lists of
// at most maxListIDs, with insert prepared from insertEventIDsSQL.
func insertEventIDs(ctx context.Context, insert *sql.Stmt, alertID int64, ids []int64) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), maxListIDs)]
		if _, err := insert.ExecContext(ctx, alertID, chunk[0], len(chunk), encodeIDs(chunk)); err != nil {
			return fmt.Errorf("store: list events of alert %d: %w", alertID, err)
		}
		ids = ids[len(chunk):]
	}
	return nil
}

// encodeIDs and decodeIDs read and write an alert_event_ids list: a JSON
// array of ids, as the migration's json_group_array writes it.
func encodeIDs(ids []int64) string {
	b := make([]byte, 0, 1+len(ids)*8)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

func decodeIDs(s string) ([]int64, error) {
	var ids []int64
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		return nil, fmt.Errorf("store: alert event ids %.40q: %w", s, err)
	}
	return ids, nil
}

// recountFolds makes the rows true again from the events, after a crash
// (at Open) or a commit whose outcome is unknown, when the sums in memory
// cannot be trusted: the lists written for events past flushed_through (by
// a round that did not finish) are dropped, every such event is listed
// again, and the alerts they belong to are recounted from their lists.
func recountFolds(ctx context.Context, tx *sql.Tx) error {
	var through, newest int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT flushed_through FROM ingest_folds WHERE id = 1), (SELECT COALESCE(MAX(id), 0) FROM events)`).
		Scan(&through, &newest); err != nil {
		return fmt.Errorf("store: read folded-count mark: %w", err)
	}
	if through >= newest {
		// Every event is counted (a clean close): nothing to recount, and
		// no list can hold an id past the mark. This is every start but
		// the one after a crash, so it must not scan the lists.
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_event_ids WHERE first_id > $1`, through); err != nil {
		return fmt.Errorf("store: drop unfinished event lists: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, alert_id, received_at FROM events WHERE id > $1 AND alert_id <> 0 ORDER BY id`, through)
	if err != nil {
		return fmt.Errorf("store: events to recount: %w", err)
	}
	sums := map[int64]foldSum{}
	var order []int64
	for rows.Next() {
		var id, alertID, at int64
		if err := rows.Scan(&id, &alertID, &at); err != nil {
			rows.Close()
			return fmt.Errorf("store: events to recount: %w", err)
		}
		s, seen := sums[alertID]
		if !seen {
			order = append(order, alertID)
		}
		s.last, s.ids = max(s.last, at), append(s.ids, id)
		sums[alertID] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: events to recount: %w", err)
	}
	insert, err := tx.PrepareContext(ctx, sqliteDialectHot(insertEventIDsSQL))
	if err != nil {
		return fmt.Errorf("store: list events: %w", err)
	}
	defer insert.Close()
	for _, alertID := range order {
		s := sums[alertID]
		if err := insertEventIDs(ctx, insert, alertID, s.ids); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET event_count = (SELECT COALESCE(SUM(n), 0) FROM alert_event_ids WHERE alert_id = $1),
last_event_at = CASE WHEN last_event_at < $2 THEN $2 ELSE last_event_at END WHERE id = $1`, alertID, s.last); err != nil {
			return fmt.Errorf("store: recount alert %d: %w", alertID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ingest_folds SET flushed_through = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id = 1`); err != nil {
		return fmt.Errorf("store: mark folded counts written: %w", err)
	}
	return nil
}

// committed settles the sums after the group's COMMIT succeeded. The
// caller holds mu.
func (f *folds) committed(w foldWrite, now time.Time) {
	switch {
	case w.recounted:
		clear(f.pending)
		clear(f.flushing)
		f.recount = false
	case w.started:
		f.flushing, f.pending = f.newRound, map[int64]foldSum{}
		f.lastRound = now
	default:
		// Appended in place: a long storm on one alert must not copy its
		// ids at every group, under the lock readers wait on.
		for id, s := range f.staged {
			p := f.pending[id]
			p.count, p.last, p.ids = p.count+s.count, max(p.last, s.last), append(p.ids, s.ids...)
			f.pending[id] = p
		}
	}
	for _, id := range w.written {
		delete(f.flushing, id)
	}
	clear(f.staged)
	f.newRound = nil
}

// failed settles a group transaction that rolled back, or whose COMMIT
// failed (outcome unknown): its sums are dropped, what it learnt of open
// alerts is forgotten (they may not exist), and after an unknown outcome
// the next group recounts.
func (f *folds) failed(outcomeUnknown bool) {
	clear(f.staged)
	f.newRound = nil
	f.openMu.Lock()
	clear(f.open)
	f.openMu.Unlock()
	f.recount = f.recount || outcomeUnknown
}

// reading starts a read of alert rows that will add the pending sums; call
// the returned func when done.
func (f *folds) reading() func() {
	if f == nil {
		return func() {}
	}
	f.mu.RLock()
	return f.mu.RUnlock
}

// overlay adds the sums not yet in a's row; the caller is reading.
func (f *folds) overlay(a *klaxon.Alert) {
	if f == nil {
		return
	}
	p, q := f.pending[a.ID], f.flushing[a.ID]
	if count := p.count + q.count; count > 0 {
		a.EventCount += count
		if last := fromDB(max(p.last, q.last)); last.After(a.LastEventAt) {
			a.LastEventAt = last
		}
	}
}
