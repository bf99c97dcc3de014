package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// Calendar feeds (iCal) are fetched by calendar clients that cannot send an
// Authorization header, so a feed URL carries its own token. The token is an
// HMAC of the feed's identity and generation under a key kept in settings:
// nothing per feed is stored, and rotating a feed (bumping its generation)
// makes every earlier URL stop working.

func feedTable(k klaxon.FeedKind) string {
	if k == klaxon.FeedUser {
		return "users"
	}
	return "schedules"
}

// FeedKey returns the key that signs calendar feed tokens, creating it on
// first use. Two nodes racing to create it agree on whichever was stored.
func (s *Store) FeedKey(ctx context.Context) ([]byte, error) {
	var value string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'ical_feed_key'`).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("store: feed key: %w", err)
		}
		err = s.write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('ical_feed_key', $1) ON CONFLICT (key) DO NOTHING`, hex.EncodeToString(b[:])); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'ical_feed_key'`).Scan(&value)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: feed key: %w", err)
	}
	key, err := hex.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("store: feed key is corrupt: %w", err)
	}
	return key, nil
}

// FeedGeneration returns the current generation of a schedule's or a
// person's feed, or ENOTFOUND.
func (s *Store) FeedGeneration(ctx context.Context, kind klaxon.FeedKind, id int64) (int64, error) {
	var gen int64
	err := s.r.QueryRowContext(ctx, `SELECT feed_generation FROM `+feedTable(kind)+` WHERE id = $1`, id).Scan(&gen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(kind, id)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %s %d feed: %w", kind, id, err)
	}
	return gen, nil
}

// RotateFeed starts a new generation of a feed: its earlier URLs stop
// working at once.
func (s *Store) RotateFeed(ctx context.Context, actor string, kind klaxon.FeedKind, id int64) (int64, error) {
	var gen int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE `+feedTable(kind)+` SET feed_generation = feed_generation + 1 WHERE id = $1 RETURNING feed_generation`, id).Scan(&gen)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(kind, id)
		}
		if err != nil {
			return fmt.Errorf("store: rotate %s %d feed: %w", kind, id, err)
		}
		return s.audit(ctx, tx, actor, string(kind)+".rotate_feed", string(kind), id, "")
	})
	return gen, err
}

func notFound(kind klaxon.FeedKind, id int64) error {
	return klaxon.Errorf(klaxon.ENOTFOUND, "%s %d not found", kind, id)
}
