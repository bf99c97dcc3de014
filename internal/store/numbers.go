package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Alert numbers: a short number per person and alert, so that a page can
// say "Reply ACK 4" and the answer names one alert. Alert ids grow without
// end; these numbers are per person and reused, so they stay as short as
// the person's list of open alerts. A number is held while its alert is
// open; the lowest number none of the person's open alerts holds is given
// next. The row of a resolved alert stays until its number is given again,
// so that a late "RES 4" learns that alert 4 is resolved rather than that 4
// means nothing.

// alertNumber returns the person's number for the alert, giving it the
// lowest free one if it has none. It runs in the transaction that claims a
// page about the alert, so the number the page shows is committed with the
// claim.
func (s *Store) alertNumber(ctx context.Context, tx *sql.Tx, userID, alertID int64, now time.Time) (int, error) {
	n, ok, err := numberOf(ctx, tx, userID, alertID)
	if err != nil || ok {
		return n, err
	}
	// One numbering per person at a time: on PostgreSQL the user's row is
	// locked until commit, so two nodes claiming pages for one person cannot
	// give out the same number twice. SQLite has one writer anyway.
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+s.dialect.forUpdate, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // the person is gone: nobody to number for
	}
	if err != nil {
		return 0, fmt.Errorf("store: lock user %d for alert numbers: %w", userID, err)
	}
	// Another node may have numbered the alert while this one waited.
	if n, ok, err := numberOf(ctx, tx, userID, alertID); err != nil || ok {
		return n, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT an.number FROM alert_numbers an JOIN alerts a ON a.id = an.alert_id
WHERE an.user_id = $1 AND a.status <> 'resolved' ORDER BY an.number`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: alert numbers of user %d: %w", userID, err)
	}
	n = 1
	for rows.Next() {
		var held int
		if err := rows.Scan(&held); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: alert numbers of user %d: %w", userID, err)
		}
		if held == n {
			n++
		} else if held > n {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: alert numbers of user %d: %w", userID, err)
	}
	// A resolved (or deleted) alert's row may hold n: it is given over.
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_numbers (user_id, number, alert_id, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, number) DO UPDATE SET alert_id = excluded.alert_id, created_at = excluded.created_at`,
		userID, n, alertID, toDB(now)); err != nil {
		return 0, fmt.Errorf("store: number alert %d for user %d: %w", alertID, userID, err)
	}
	return n, nil
}

func numberOf(ctx context.Context, q queryRower, userID, alertID int64) (int, bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT number FROM alert_numbers WHERE user_id = $1 AND alert_id = $2`, userID, alertID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: number of alert %d for user %d: %w", alertID, userID, err)
	}
	return n, true, nil
}

// AlertByNumber returns the alert that number names for the person: the
// alert of an SMS reply such as "ACK 4". A number the person was never
// given, or whose alert no longer exists, is ENOTFOUND.
func (s *Store) AlertByNumber(ctx context.Context, userID int64, number int) (klaxon.Alert, error) {
	var alertID int64
	err := s.r.QueryRowContext(ctx, `SELECT alert_id FROM alert_numbers WHERE user_id = $1 AND number = $2`, userID, number).Scan(&alertID)
	if errors.Is(err, sql.ErrNoRows) {
		return klaxon.Alert{}, klaxon.Errorf(klaxon.ENOTFOUND, "no alert numbered %d was sent to user %d", number, userID)
	}
	if err != nil {
		return klaxon.Alert{}, fmt.Errorf("store: alert number %d of user %d: %w", number, userID, err)
	}
	return s.alertByID(ctx, s.r, alertID)
}

// AlertNumber returns the person's number for an alert, if a page about it
// was ever claimed for them.
func (s *Store) AlertNumber(ctx context.Context, userID, alertID int64) (int, bool, error) {
	return numberOf(ctx, s.r, userID, alertID)
}

// UsersByVerifiedPhone returns the people with a verified SMS contact method
// at phone (an E.164 number), lowest id first: who sent an SMS reply.
// Several people may share a number (a team phone); the caller decides.
func (s *Store) UsersByVerifiedPhone(ctx context.Context, phone string) ([]int64, error) {
	ids, err := queryIDs(ctx, s.r, `SELECT DISTINCT user_id FROM contact_methods
WHERE type = 'sms' AND address = $1 AND verified_at IS NOT NULL ORDER BY user_id`, phone)
	if err != nil {
		return nil, fmt.Errorf("store: users by phone: %w", err)
	}
	return ids, nil
}
