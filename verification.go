package klaxon

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

// Verification proves that an SMS or voice number belongs to the person who
// entered it: a mistyped number would page a stranger at 3 a.m. Klaxon sends
// a short code to the number and marks the contact method verified once the
// person types the code back. Only the code's hash is stored; the code
// itself lives in the notification job that carries it, until the job is
// sent.

// The rules of verification codes.
const (
	// VerificationCodeDigits is the length of a code: six digits, easy to
	// type from a text or a call, and one chance in a million per guess.
	VerificationCodeDigits = 6
	// VerificationCodeTTL is how long a code works: long enough for a slow
	// SMS, short enough that an old code in a lost phone's inbox is dead.
	VerificationCodeTTL = 10 * time.Minute
	// MaxVerificationAttempts is how many wrong codes may be tried against
	// one code; then a new code must be requested. Five guesses at one in a
	// million each cannot find a code.
	MaxVerificationAttempts = 5
	// VerificationResendInterval is how soon after one code another may be
	// requested for the same number: every code is a text or a call paid
	// for, and a loop must not run up a bill or flood a phone.
	VerificationResendInterval = 30 * time.Second
	// MaxVerificationsPerUserPerHour bounds the codes one person's numbers
	// may be sent in an hour, whatever the numbers: without it, one account
	// could add many premium-rate numbers and have Klaxon text or call each.
	MaxVerificationsPerUserPerHour = 10
)

// NewVerificationCode returns a random code of VerificationCodeDigits
// digits, leading zeros kept, every code equally likely.
func NewVerificationCode() string {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(VerificationCodeDigits), nil)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		panic("klaxon: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%0*d", VerificationCodeDigits, n.Int64())
}

// VerificationSent is what asking for a code started: the notification job
// that carries the code, and when the code stops working.
type VerificationSent struct {
	NotificationID int64
	ExpiresAt      time.Time
}
