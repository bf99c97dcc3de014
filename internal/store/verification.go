package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// Verification of SMS and voice numbers (see klaxon.NewVerificationCode):
// the contact method holds the hash of the code last sent, when it was
// sent and expires, and the wrong attempts against it; the notification job
// that sends the code holds the code itself, until it is sent.

// hashVerificationCode binds a code to its contact method, so that a hash
// copied to another method's row is worth nothing.
func hashVerificationCode(contactMethodID int64, code string) []byte {
	h := sha256.New()
	h.Write([]byte("klaxon verification code\x00" + strconv.FormatInt(contactMethodID, 10) + "\x00" + code))
	return h.Sum(nil)
}

// verifyState is a contact method with its outstanding code, if any.
type verifyState struct {
	cm       klaxon.ContactMethod
	hash     []byte
	sentAt   sql.NullInt64
	expires  sql.NullInt64
	attempts int
}

// lockVerifyState loads the user's contact method for a verification
// change, locking its row on PostgreSQL. Another user's method is
// ENOTFOUND, as a missing one: its existence is not the caller's business.
func (s *Store) lockVerifyState(ctx context.Context, tx *sql.Tx, userID, contactMethodID int64) (verifyState, error) {
	var v verifyState
	var typ string
	var created int64
	var verified sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, user_id, type, address, name, created_at, verified_at,
verify_code_hash, verify_sent_at, verify_expires_at, verify_attempts FROM contact_methods WHERE id = $1`+s.dialect.forUpdate,
		contactMethodID).Scan(&v.cm.ID, &v.cm.UserID, &typ, &v.cm.Address, &v.cm.Name, &created, &verified,
		&v.hash, &v.sentAt, &v.expires, &v.attempts)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && v.cm.UserID != userID) {
		return v, klaxon.Errorf(klaxon.ENOTFOUND, "user %d has no contact method %d", userID, contactMethodID)
	}
	if err != nil {
		return v, fmt.Errorf("store: contact method %d: %w", contactMethodID, err)
	}
	v.cm.Type, v.cm.CreatedAt, v.cm.VerifiedAt = klaxon.ContactType(typ), fromDB(created), nullTime(verified)
	return v, nil
}

// SendVerification starts the verification of a user's SMS or voice
// contact method with code: it stores the code's hash, expiring after
// klaxon.VerificationCodeTTL with no wrong attempts yet, and creates the
// notification job that sends the code, due now, in one transaction. Any
// code sent before stops working, and a job still waiting to send one is
// suppressed. A method that needs no verification, or is verified already,
// is ECONFLICT; asking again within klaxon.VerificationResendInterval is
// ERATELIMIT.
func (s *Store) SendVerification(ctx context.Context, actor string, userID, contactMethodID int64, code string) (klaxon.VerificationSent, error) {
	now := s.now()
	var out klaxon.VerificationSent
	err := s.write(ctx, func(tx *sql.Tx) error {
		v, err := s.lockVerifyState(ctx, tx, userID, contactMethodID)
		if err != nil {
			return err
		}
		switch {
		case !v.cm.Type.NeedsVerification():
			return klaxon.Errorf(klaxon.ECONFLICT, "%s contact methods are verified when created; only sms and voice numbers need a code", v.cm.Type)
		case v.cm.VerifiedAt != nil:
			return klaxon.Errorf(klaxon.ECONFLICT, "contact method %d is verified already", v.cm.ID)
		case v.sentAt.Valid && now.Sub(fromDB(v.sentAt.Int64)) < klaxon.VerificationResendInterval:
			wait := klaxon.VerificationResendInterval - now.Sub(fromDB(v.sentAt.Int64))
			return klaxon.Errorf(klaxon.ERATELIMIT, "a code was sent to this number moments ago; wait %d seconds before asking for another",
				int(wait.Seconds()+0.999))
		}
		var lastHour int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'verification' AND created_at > $2`,
			userID, toDB(now.Add(-time.Hour))).Scan(&lastHour); err != nil {
			return fmt.Errorf("store: count verification codes of user %d: %w", userID, err)
		}
		if lastHour >= klaxon.MaxVerificationsPerUserPerHour {
			return klaxon.Errorf(klaxon.ERATELIMIT, "%d verification codes were sent to this person's numbers in the last hour; try again later",
				lastHour)
		}
		if err := suppressVerifications(ctx, tx, v.cm.ID, "a newer code was requested", now); err != nil {
			return err
		}
		out.ExpiresAt = now.Add(klaxon.VerificationCodeTTL)
		if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET verify_code_hash = $1, verify_sent_at = $2, verify_expires_at = $3, verify_attempts = 0 WHERE id = $4`,
			hashVerificationCode(v.cm.ID, code), toDB(now), toDB(out.ExpiresAt), v.cm.ID); err != nil {
			return fmt.Errorf("store: store verification code of contact method %d: %w", v.cm.ID, err)
		}
		n := klaxon.Notification{IdempotencyKey: fmt.Sprintf("v%d.%d", v.cm.ID, toDB(now)), Kind: klaxon.NotificationVerification,
			UserID: userID, ContactMethodID: v.cm.ID, ContactType: v.cm.Type, DueAt: now}
		if err := insertNotification(ctx, tx, &n, now); err != nil {
			return err
		}
		if n.ID == 0 {
			return klaxon.Errorf(klaxon.ECONFLICT, "a code was sent to this number at this very instant; try again")
		}
		// The code travels with its job, so that a crash between now and
		// the send loses nothing; FinishNotifications clears it.
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET payload = $1 WHERE id = $2`, code, n.ID); err != nil {
			return fmt.Errorf("store: verification job: %w", err)
		}
		out.NotificationID = n.ID
		if err := s.notify(ctx, tx, channelWork); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "contact_method.send_verification", "contact_method", v.cm.ID,
			auditJSON(map[string]any{"user_id": userID, "type": v.cm.Type, "notification_id": n.ID}))
	})
	if err != nil {
		return klaxon.VerificationSent{}, err
	}
	s.signalWork()
	return out, nil
}

// VerifyContactMethod checks code against the code last sent to a user's
// contact method and, when it matches, marks the method verified: from then
// on it is paged. A wrong, expired or missing code is EINVALID naming
// "code"; a wrong code counts against the code's klaxon.MaxVerificationAttempts,
// after which the code is refused whatever it is (ERATELIMIT) and a new one
// must be requested. A method verified already is returned as it is.
func (s *Store) VerifyContactMethod(ctx context.Context, actor string, userID, contactMethodID int64, code string) (klaxon.ContactMethod, error) {
	now := s.now()
	var cm klaxon.ContactMethod
	var refused error // a wrong code: its attempt is counted, so the transaction commits
	err := s.write(ctx, func(tx *sql.Tx) error {
		v, err := s.lockVerifyState(ctx, tx, userID, contactMethodID)
		if err != nil {
			return err
		}
		cm = v.cm
		switch {
		case v.cm.VerifiedAt != nil:
			return nil
		case v.hash == nil:
			return klaxon.FieldError("code", "no code is waiting for this number; request one with send-verification")
		case v.attempts >= klaxon.MaxVerificationAttempts:
			return &klaxon.Error{Code: klaxon.ERATELIMIT, Field: "code",
				Message: fmt.Sprintf("%d wrong codes were tried; request a new code with send-verification", v.attempts)}
		case !now.Before(fromDB(v.expires.Int64)):
			return klaxon.FieldError("code", "has expired (codes work for %d minutes); request a new one with send-verification",
				int(klaxon.VerificationCodeTTL.Minutes()))
		}
		if !validCode(code) || !hmac.Equal(hashVerificationCode(v.cm.ID, code), v.hash) {
			v.attempts++
			if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET verify_attempts = $1 WHERE id = $2`, v.attempts, v.cm.ID); err != nil {
				return fmt.Errorf("store: count verification attempt of contact method %d: %w", v.cm.ID, err)
			}
			left := klaxon.MaxVerificationAttempts - v.attempts
			if left == 0 {
				refused = klaxon.FieldError("code", "is wrong, and that was the last attempt for this code; request a new one with send-verification")
			} else {
				refused = klaxon.FieldError("code", "is wrong; %d attempts left", left)
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contact_methods SET verified_at = $1, verify_code_hash = NULL, verify_sent_at = NULL,
verify_expires_at = NULL, verify_attempts = 0 WHERE id = $2`, toDB(now), v.cm.ID); err != nil {
			return fmt.Errorf("store: verify contact method %d: %w", v.cm.ID, err)
		}
		cm.VerifiedAt = &now
		if err := suppressVerifications(ctx, tx, v.cm.ID, "the number was verified", now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "contact_method.verify", "contact_method", v.cm.ID,
			auditJSON(map[string]any{"user_id": userID, "type": v.cm.Type}))
	})
	if err != nil {
		return klaxon.ContactMethod{}, err
	}
	if refused != nil {
		return klaxon.ContactMethod{}, refused
	}
	return cm, nil
}

// validCode reports whether s has the shape of a code: a guess of another
// shape still counts as an attempt, but is not hashed.
func validCode(s string) bool {
	if len(s) != klaxon.VerificationCodeDigits {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// suppressVerifications stops the contact method's verification jobs that
// have not been sent: their code no longer works. A job being sent right
// now (leased) finishes; its code is already dead.
func suppressVerifications(ctx context.Context, tx *sql.Tx, contactMethodID int64, reason string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status = 'suppressed', reason = $1, payload = '', updated_at = $2
WHERE contact_method_id = $3 AND kind = 'verification' AND status = 'pending' AND lease_owner = ''`, reason, toDB(now), contactMethodID); err != nil {
		return fmt.Errorf("store: suppress verification jobs of contact method %d: %w", contactMethodID, err)
	}
	return nil
}
