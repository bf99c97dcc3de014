package store

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The code of a verification is held in two forms only: its hash on the
// contact method, and the code itself in the job that sends it, until the
// job is done. The conformance suite checks the behaviour; this checks the
// rows.
func TestVerificationCodeIsNotKept(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "klaxon.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := klaxon.User{Name: "Ada", Email: "ada@example.com", Role: klaxon.RoleResponder}
	if err := s.CreateUser(ctx, "test", &u); err != nil {
		t.Fatal(err)
	}
	cm := klaxon.ContactMethod{UserID: u.ID, Type: klaxon.ContactVoice, Address: "+14155550100"}
	if err := s.CreateContactMethod(ctx, "test", &cm); err != nil {
		t.Fatal(err)
	}
	const code = "246801"
	if _, err := s.SendVerification(ctx, "test", u.ID, cm.ID, code); err != nil {
		t.Fatal(err)
	}
	var hash []byte
	if err := s.r.QueryRowContext(ctx, `SELECT verify_code_hash FROM contact_methods WHERE id = $1`, cm.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 || bytes.Contains(hash, []byte(code)) {
		t.Fatalf("stored %x for the code", hash)
	}
	payload := func() string {
		t.Helper()
		var p string
		if err := s.r.QueryRowContext(ctx, `SELECT payload FROM notifications WHERE contact_method_id = $1`, cm.ID).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := payload(); got != code {
		t.Fatalf("job payload %q before sending, want the code", got)
	}
	jobs, err := s.ClaimNotifications(ctx, "n", s.now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	if err := s.FinishNotifications(ctx, "n", []int64{jobs[0].ID}, klaxon.NotificationResult{Status: klaxon.NotificationFailed, Attempted: true}); err != nil {
		t.Fatal(err)
	}
	if got := payload(); got != "" {
		t.Fatalf("job payload %q after the job failed, want none", got)
	}
}
