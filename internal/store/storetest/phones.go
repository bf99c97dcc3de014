package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// SMS and voice: per-person alert numbers, and the verification of phone
// numbers.

// pager pages people about alerts through the store the way the engine
// does: a job is added, claimed (which numbers the alert for the person)
// and marked sent.
type pager struct {
	t     *testing.T
	s     *store.Store
	clock *fakeClock
	svc   klaxon.Service
	seq   int
}

// page claims one job per alert for the contact method and returns the
// numbers the claim gave, in the order of alerts.
func (p *pager) page(cm klaxon.ContactMethod, alerts ...int64) []int {
	p.t.Helper()
	var ns []klaxon.Notification
	for _, id := range alerts {
		p.seq++
		ns = append(ns, klaxon.Notification{IdempotencyKey: fmt.Sprintf("page-%d", p.seq), AlertID: id, ServiceID: p.svc.ID,
			UserID: cm.UserID, ContactMethodID: cm.ID, Firing: "e0.r0.s0", DueAt: p.clock.Now()})
	}
	if err := p.s.AddNotifications(ctx, ns); err != nil {
		p.t.Fatal(err)
	}
	jobs, err := p.s.ClaimNotifications(ctx, "node-1", p.clock.Now(), time.Minute, 100)
	if err != nil || len(jobs) != len(alerts) {
		p.t.Fatalf("claimed %d jobs (%v), want %d", len(jobs), err, len(alerts))
	}
	numbers := make([]int, len(alerts))
	for _, j := range jobs {
		numbers[slices.Index(alerts, j.AlertID)] = j.AlertNumber
		if err := p.s.FinishNotifications(ctx, "node-1", []int64{j.ID}, klaxon.NotificationResult{Status: klaxon.NotificationSent, Attempted: true}); err != nil {
			p.t.Fatal(err)
		}
	}
	return numbers
}

func testAlertNumbers(t *testing.T, open Opener) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clock})
	p := &pager{t: t, s: s, clock: clock, svc: mustService(t, s, "api")}
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	adaMail := mustContactMethod(t, s, ada.ID, klaxon.ContactEmail, "ada@example.com")
	adaHook := mustContactMethod(t, s, ada.ID, klaxon.ContactWebhook, "https://hooks.example.com/ada")
	bobMail := mustContactMethod(t, s, bob.ID, klaxon.ContactEmail, "bob@example.com")
	alert := func(key string) int64 { return mustIngest(t, s, trigger(p.svc, key))[0].AlertID }
	want := func(what string, got []int, want ...int) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: numbers %v, want %v", what, got, want)
		}
	}
	wantAlert := func(user klaxon.User, number int, id int64, status klaxon.AlertStatus) {
		t.Helper()
		a, err := s.AlertByNumber(ctx, user.ID, number)
		if err != nil || a.ID != id || a.Status != status {
			t.Fatalf("%s's alert %d = %d %s (%v), want %d %s", user.Name, number, a.ID, a.Status, err, id, status)
		}
	}

	a1, a2, a3 := alert("a1"), alert("a2"), alert("a3")
	want("first pages", p.page(adaMail, a1, a2), 1, 2)
	want("another person's own numbers", p.page(bobMail, a2), 1)
	want("the same alert again, on another method", p.page(adaHook, a1, a2), 1, 2)
	wantAlert(ada, 2, a2, klaxon.AlertTriggered)
	wantAlert(bob, 1, a2, klaxon.AlertTriggered)

	// A resolved alert's number is given to the next alert...
	if _, err := s.ResolveAlert(ctx, "test", a1); err != nil {
		t.Fatal(err)
	}
	want("after a1 resolved", p.page(adaMail, a3), 1)
	wantAlert(ada, 1, a3, klaxon.AlertTriggered)
	// ...but until then it still names its alert, so that a late reply
	// hears that the alert is resolved.
	if _, err := s.ResolveAlert(ctx, "test", a2); err != nil {
		t.Fatal(err)
	}
	wantAlert(ada, 2, a2, klaxon.AlertResolved)
	// An acknowledged alert is open and keeps its number.
	if _, err := s.AcknowledgeAlert(ctx, "test", a3); err != nil {
		t.Fatal(err)
	}
	a4, a5, a6 := alert("a4"), alert("a5"), alert("a6")
	want("a storm claimed at once", p.page(adaMail, a4, a5, a6), 2, 3, 4)
	wantAlert(ada, 2, a4, klaxon.AlertTriggered)
	if n, ok, err := s.AlertNumber(ctx, ada.ID, a3); err != nil || !ok || n != 1 {
		t.Fatalf("number of a3 = %d %v %v, want 1", n, ok, err)
	}
	// Bob's numbers are his own: his only alert, a2, is resolved, so his
	// number 1 is free again.
	want("bob again", p.page(bobMail, a4), 1)
	wantAlert(bob, 1, a4, klaxon.AlertTriggered)

	_, err := s.AlertByNumber(ctx, ada.ID, 99)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.AlertByNumber(ctx, bob.ID+100, 1)
	wantCode(t, err, klaxon.ENOTFOUND)
	if _, ok, err := s.AlertNumber(ctx, bob.ID, a1); err != nil || ok {
		t.Fatalf("bob was never paged about a1, but it has a number (%v)", err)
	}

	// A page about an alert resolved before it is claimed takes no number.
	a7 := alert("a7")
	if _, err := s.ResolveAlert(ctx, "test", a7); err != nil {
		t.Fatal(err)
	}
	want("a resolved alert", p.page(adaMail, a7), 0)
}

func testVerification(t *testing.T, open Opener) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clock})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	sms := mustContactMethod(t, s, ada.ID, klaxon.ContactSMS, "+14155550100")
	mail := mustContactMethod(t, s, ada.ID, klaxon.ContactEmail, "ada@example.com")
	if sms.VerifiedAt != nil || mail.VerifiedAt == nil {
		t.Fatalf("created: sms verified %v, email verified %v", sms.VerifiedAt, mail.VerifiedAt)
	}
	if ids, err := s.UsersByVerifiedPhone(ctx, "+14155550100"); err != nil || len(ids) != 0 {
		t.Fatalf("an unverified number answers for %v (%v)", ids, err)
	}

	// Not Ada's to verify, not a phone, nothing sent yet.
	_, err := s.SendVerification(ctx, "test", bob.ID, sms.ID, "123456")
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.SendVerification(ctx, "test", ada.ID, mail.ID, "123456")
	wantCode(t, err, klaxon.ECONFLICT)
	_, err = s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "123456")
	wantField(t, err, klaxon.EINVALID, "code")

	sent, err := s.SendVerification(ctx, "test", ada.ID, sms.ID, "111111")
	if err != nil || sent.NotificationID == 0 || !sent.ExpiresAt.Equal(clock.Now().Add(klaxon.VerificationCodeTTL)) {
		t.Fatalf("send = %+v %v", sent, err)
	}
	_, err = s.SendVerification(ctx, "test", ada.ID, sms.ID, "222222")
	wantCode(t, err, klaxon.ERATELIMIT)
	// The job carries the code, through a retry.
	jobs, err := s.ClaimNotifications(ctx, "node-1", clock.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != klaxon.NotificationVerification || jobs[0].Code != "111111" ||
		jobs[0].Address != "+14155550100" || jobs[0].AlertNumber != 0 || jobs[0].Verified {
		t.Fatalf("claimed %+v %v", jobs, err)
	}
	if err := s.FinishNotifications(ctx, "node-1", []int64{jobs[0].ID}, klaxon.NotificationResult{Status: klaxon.NotificationPending, RetryAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	jobs, err = s.ClaimNotifications(ctx, "node-1", clock.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Code != "111111" {
		t.Fatalf("claimed for the retry %+v %v", jobs, err)
	}
	if err := s.FinishNotifications(ctx, "node-1", []int64{jobs[0].ID}, klaxon.NotificationResult{Status: klaxon.NotificationSent, Attempted: true}); err != nil {
		t.Fatal(err)
	}

	// A newer code replaces the old one, and suppresses its job if unsent.
	clock.add(klaxon.VerificationResendInterval)
	if _, err := s.SendVerification(ctx, "test", ada.ID, sms.ID, "222222"); err != nil {
		t.Fatal(err)
	}
	clock.add(klaxon.VerificationResendInterval)
	if _, err := s.SendVerification(ctx, "test", ada.ID, sms.ID, "333333"); err != nil {
		t.Fatal(err)
	}
	log, err := s.ListNotifications(ctx, 0, ada.ID, klaxon.Page{})
	if err != nil || len(log) != 3 || log[0].Status != klaxon.NotificationPending || log[1].Status != klaxon.NotificationSuppressed ||
		log[2].Status != klaxon.NotificationSent || log[0].Kind != klaxon.NotificationVerification {
		t.Fatalf("notifications %+v %v", log, err)
	}
	_, err = s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "222222")
	wantField(t, err, klaxon.EINVALID, "code")

	// Wrong codes count; the fifth uses the code up.
	for i := 2; i <= klaxon.MaxVerificationAttempts; i++ {
		_, err = s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "000000")
		wantField(t, err, klaxon.EINVALID, "code")
	}
	_, err = s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "333333")
	wantField(t, err, klaxon.ERATELIMIT, "code")

	// A fresh code expires.
	clock.add(klaxon.VerificationResendInterval)
	if _, err := s.SendVerification(ctx, "test", ada.ID, sms.ID, "444444"); err != nil {
		t.Fatal(err)
	}
	clock.add(klaxon.VerificationCodeTTL)
	_, err = s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "444444")
	wantField(t, err, klaxon.EINVALID, "code")

	// The right code in time verifies, once and for all.
	if _, err := s.SendVerification(ctx, "test", ada.ID, sms.ID, "555555"); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	cm, err := s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "555555")
	if err != nil || cm.VerifiedAt == nil || !cm.VerifiedAt.Equal(clock.Now()) || cm.ID != sms.ID {
		t.Fatalf("verify = %+v %v", cm, err)
	}
	if again, err := s.VerifyContactMethod(ctx, "test", ada.ID, sms.ID, "999999"); err != nil || again.VerifiedAt == nil {
		t.Fatalf("verify a verified method = %+v %v", again, err)
	}
	_, err = s.SendVerification(ctx, "test", ada.ID, sms.ID, "666666")
	wantCode(t, err, klaxon.ECONFLICT)
	list, _ := s.ListContactMethods(ctx, ada.ID)
	if list[0].VerifiedAt == nil {
		t.Fatalf("listed %+v", list[0])
	}
	// The code's job, not yet sent, is not sent now: the number is verified.
	jobs, err = s.ClaimNotifications(ctx, "node-1", clock.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 0 {
		t.Fatalf("claimed %+v %v after verification", jobs, err)
	}
	if ids, err := s.UsersByVerifiedPhone(ctx, "+14155550100"); err != nil || !slices.Equal(ids, []int64{ada.ID}) {
		t.Fatalf("the verified number answers for %v (%v)", ids, err)
	}

	audit, _ := s.ListAudit(ctx, klaxon.Page{Limit: 100})
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
		if e.Action == "contact_method.send_verification" && (strings.Contains(e.Detail, "111111") || strings.Contains(e.Detail, "555555")) {
			t.Errorf("the audit log holds a code: %s", e.Detail)
		}
	}
	if !slices.Contains(actions, "contact_method.verify") {
		t.Errorf("audit %v lacks contact_method.verify", actions)
	}
}

// testAlertNumbersConcurrent claims one person's pages on several nodes at
// once: every alert still gets a number of its own.
func testAlertNumbersConcurrent(t *testing.T, open Opener) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clock})
	svc := mustService(t, s, "api")
	ada := mustUser(t, s, "Ada", "ada@example.com")
	mail := mustContactMethod(t, s, ada.ID, klaxon.ContactEmail, "ada@example.com")
	const n = 24
	var ns []klaxon.Notification
	for i := range n {
		id := mustIngest(t, s, trigger(svc, fmt.Sprintf("k%d", i)))[0].AlertID
		ns = append(ns, klaxon.Notification{IdempotencyKey: fmt.Sprintf("p%d", i), AlertID: id, ServiceID: svc.ID,
			UserID: ada.ID, ContactMethodID: mail.ID, Firing: "e0.r0.s0", DueAt: clock.Now()})
	}
	if err := s.AddNotifications(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var numbers []int
	var wg sync.WaitGroup
	for node := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				jobs, err := s.ClaimNotifications(ctx, fmt.Sprintf("node-%d", node), clock.Now(), time.Minute, 2)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					numbers = append(numbers, j.AlertNumber)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(numbers)
	for i, got := range numbers {
		if got != i+1 {
			t.Fatalf("numbers %v, want 1 to %d once each", numbers, n)
		}
	}
	if len(numbers) != n {
		t.Fatalf("%d jobs claimed, want %d", len(numbers), n)
	}
}

// testVerificationPerPersonLimit: however many numbers one person adds,
// Klaxon sends their numbers at most MaxVerificationsPerUserPerHour codes an
// hour (each is a paid text or call).
func testVerificationPerPersonLimit(t *testing.T, open Opener) {
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := open(t, store.Options{Clock: clock})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	for i := range klaxon.MaxVerificationsPerUserPerHour + 1 {
		cm := mustContactMethod(t, s, ada.ID, klaxon.ContactSMS, fmt.Sprintf("+1415555%04d", i))
		_, err := s.SendVerification(ctx, "test", ada.ID, cm.ID, "123456")
		if i < klaxon.MaxVerificationsPerUserPerHour && err != nil {
			t.Fatalf("code %d: %v", i+1, err)
		}
		if i == klaxon.MaxVerificationsPerUserPerHour {
			wantCode(t, err, klaxon.ERATELIMIT)
			clock.add(time.Hour)
			if _, err := s.SendVerification(ctx, "test", ada.ID, cm.ID, "123456"); err != nil {
				t.Fatalf("an hour later: %v", err)
			}
		}
	}
}
