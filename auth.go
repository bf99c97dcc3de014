package klaxon

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Role is what a person or token may do.
type Role string

// The roles, most powerful first.
const (
	RoleOwner     Role = "owner"
	RoleAdmin     Role = "admin"
	RoleResponder Role = "responder"
	RoleViewer    Role = "viewer"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r carries at least the rights of need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() > 0 }

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleResponder:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// APIToken lets a person or a tool use the admin API with a role. Only the
// token's hash is stored.
type APIToken struct {
	ID        int64
	Name      string
	Role      Role
	UserID    int64 // 0 for tokens not tied to a person
	Hash      []byte
	Hint      string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// TokenPrefix starts every API token, so that a leaked token is recognisable
// (and secret scanners can find it).
const TokenPrefix = "klx_"

// NewSecret returns a random 128-bit secret as 32 lowercase hex characters:
// the same shape as a PagerDuty routing key, so tools that check the length
// of a routing key accept Klaxon's integration keys.
func NewSecret() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("klaxon: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// NewAPIToken returns a fresh API token with the token prefix.
func NewAPIToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("klaxon: crypto/rand failed: " + err.Error())
	}
	return TokenPrefix + hex.EncodeToString(b[:])
}

// HashSecret hashes a high-entropy secret for storage and lookup. Keys and
// tokens are random 128+ bit values, so a fast hash is enough: there is
// nothing to brute-force.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretHint is the tail of a secret, safe to show to tell secrets apart.
func SecretHint(secret string) string {
	if len(secret) <= 4 {
		return ""
	}
	return secret[len(secret)-4:]
}

// AuditEntry records one mutation: who did what to which object.
type AuditEntry struct {
	ID         int64
	At         time.Time
	Actor      string // "token:3 (ci)", "user:1", "system"
	Action     string // "service.create", "integration.rotate", …
	ObjectType string
	ObjectID   int64
	Detail     string // JSON, may be empty
}
