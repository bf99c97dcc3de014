package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

const contactMethodColumns = `id, user_id, type, address, name, created_at, verified_at`

func scanContactMethod(row interface{ Scan(...any) error }) (klaxon.ContactMethod, error) {
	var c klaxon.ContactMethod
	var typ string
	var created int64
	var verified sql.NullInt64
	err := row.Scan(&c.ID, &c.UserID, &typ, &c.Address, &c.Name, &created, &verified)
	c.Type, c.CreatedAt, c.VerifiedAt = klaxon.ContactType(typ), fromDB(created), nullTime(verified)
	return c, err
}

// CreateContactMethod stores a new way to reach a user and sets its ID and
// time. A contact method without a name is named after its type. The same
// address twice for one user and type is ECONFLICT: it would page twice.
func (s *Store) CreateContactMethod(ctx context.Context, actor string, c *klaxon.ContactMethod) error {
	if c.Name == "" && c.Type.Valid() {
		c.Name = string(c.Type)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	c.CreatedAt = s.now()
	c.VerifiedAt = nil
	if !c.Type.NeedsVerification() {
		c.VerifiedAt = &c.CreatedAt
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := userByID(ctx, tx, c.UserID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO contact_methods (user_id, type, address, name, created_at, verified_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			c.UserID, string(c.Type), c.Address, c.Name, toDB(c.CreatedAt), toNullDB(c.VerifiedAt)).Scan(&c.ID)
		if isUniqueViolation(err) {
			return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "address",
				Message: fmt.Sprintf("user %d already has the %s contact method %q", c.UserID, c.Type, c.Address)}
		}
		if err != nil {
			return fmt.Errorf("store: create contact method: %w", err)
		}
		return s.audit(ctx, tx, actor, "contact_method.create", "contact_method", c.ID,
			auditJSON(map[string]any{"user_id": c.UserID, "type": c.Type, "address": c.Address}))
	})
}

// ListContactMethods returns a user's contact methods, oldest first.
func (s *Store) ListContactMethods(ctx context.Context, userID int64) ([]klaxon.ContactMethod, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactMethodColumns+` FROM contact_methods WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list contact methods: %w", err)
	}
	defer rows.Close()
	var out []klaxon.ContactMethod
	for rows.Next() {
		c, err := scanContactMethod(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list contact methods: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const ruleColumns = `id, user_id, contact_method_id, delay_minutes, urgency, created_at`

func scanRule(row interface{ Scan(...any) error }) (klaxon.NotificationRule, error) {
	var n klaxon.NotificationRule
	var urgency string
	var created int64
	err := row.Scan(&n.ID, &n.UserID, &n.ContactMethodID, &n.DelayMinutes, &urgency, &created)
	n.Urgency, n.CreatedAt = klaxon.Urgency(urgency), fromDB(created)
	return n, err
}

// CreateNotificationRule stores a new rule and sets its ID and time. The
// contact method must be one of the user's own (EINVALID naming
// contact_method_id otherwise); the same rule twice is ECONFLICT.
func (s *Store) CreateNotificationRule(ctx context.Context, actor string, n *klaxon.NotificationRule) error {
	if err := n.Validate(); err != nil {
		return err
	}
	n.CreatedAt = s.now()
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := userByID(ctx, tx, n.UserID); err != nil {
			return err
		}
		// One answer whether the contact method is missing or someone
		// else's: a user managing their own rules learns nothing of others.
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM contact_methods WHERE id = $1`, n.ContactMethodID).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != n.UserID) {
			return klaxon.FieldError("contact_method_id", "contact method %d is not one of user %d's contact methods", n.ContactMethodID, n.UserID)
		}
		if err != nil {
			return fmt.Errorf("store: contact method %d: %w", n.ContactMethodID, err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO notification_rules (user_id, contact_method_id, delay_minutes, urgency, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			n.UserID, n.ContactMethodID, n.DelayMinutes, string(n.Urgency), toDB(n.CreatedAt)).Scan(&n.ID)
		if isUniqueViolation(err) {
			return &klaxon.Error{Code: klaxon.ECONFLICT, Field: "contact_method_id",
				Message: fmt.Sprintf("user %d already has a %s-urgency rule for contact method %d after %d minutes", n.UserID, n.Urgency, n.ContactMethodID, n.DelayMinutes)}
		}
		if err != nil {
			return fmt.Errorf("store: create notification rule: %w", err)
		}
		return s.audit(ctx, tx, actor, "notification_rule.create", "notification_rule", n.ID, auditJSON(map[string]any{
			"user_id": n.UserID, "contact_method_id": n.ContactMethodID, "delay_minutes": n.DelayMinutes, "urgency": n.Urgency}))
	})
}

// ListNotificationRules returns a user's rules in the order they fire: high
// urgency first ("high" sorts before "low"), then by delay.
func (s *Store) ListNotificationRules(ctx context.Context, userID int64) ([]klaxon.NotificationRule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleColumns+` FROM notification_rules WHERE user_id = $1 ORDER BY urgency, delay_minutes, contact_method_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list notification rules: %w", err)
	}
	defer rows.Close()
	var out []klaxon.NotificationRule
	for rows.Next() {
		n, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list notification rules: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
