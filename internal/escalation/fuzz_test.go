package escalation

import (
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// FuzzEvaluate builds a policy, a history and two instants from the fuzzer's
// bytes and holds Evaluate to its contract: Validate agrees with the
// generator about what is valid; Evaluate never panics; the due firings are in
// time order, at or before now, with unique identities, each paging its
// step's targets, at an instant the history explains, never while the alert is
// acknowledged or resolved; the plan only grows as now advances; and entries
// after now change nothing that is due.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 1, 0, 0, 1, 2, 1, 1, 1, 2, 1, 2, 2, 3, 5, 1, 0, 0, 3, 1, 4, 2, 6, 3, 9, 200, 100})
	f.Add([]byte{2, 0, 1, 0, 0, 3, 1, 0, 1, 1, 2, 2, 4, 8, 0, 1, 4, 1, 2, 4, 3, 4, 1, 4, 4, 3, 60, 250})
	f.Add([]byte{4, 5, 1, 0, 0, 2, 0, 1, 0, 1, 3, 1, 2, 2, 2, 0, 0, 2, 11, 1, 0, 0, 6, 3, 1, 2, 0, 4, 0, 2, 7, 1, 3, 0, 10, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzBytes{b: data}
		p, valid := genPolicy(r)
		history := genHistory(r)
		opt := Options{LowUrgency: r.pick(4) == 0}
		now1 := t0.Add(time.Duration(r.pick(256)-16) * time.Minute).Add(time.Duration(r.pick(4)*15) * time.Second)
		now2 := now1.Add(time.Duration(r.pick(256)) * time.Minute)

		checkValidate(t, p, valid)
		plan1 := Evaluate(p, history, now1, opt)
		plan2 := Evaluate(p, history, now2, opt)
		for _, c := range []struct {
			plan Plan
			now  time.Time
		}{{plan1, now1}, {plan2, now2}} {
			checkPlan(t, p, history, c.plan, c.now, opt)
		}
		checkGrows(t, plan1, plan2, now2)

		// What the engine would have known at now1: the entries up to it.
		var known []Event
		for _, e := range inOrder(history) {
			if !e.At.After(now1) {
				known = append(known, e)
			}
		}
		if past := Evaluate(p, known, now1, opt); !slices.EqualFunc(past.Due, plan1.Due, sameFiring) {
			t.Fatalf("entries after now changed what is due:\nwithout %v\nwith    %v", past.Due, plan1.Due)
		}
	})
}

// fuzzBytes hands out the fuzzer's bytes, then zeros.
type fuzzBytes struct{ b []byte }

// pick returns a number in [0, n) from the next byte.
func (r *fuzzBytes) pick(n int) int {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return int(c) % n
}

// The generator's choices; those past the first valid ones break the policy.
var (
	fuzzDelays  = []int{1, 5, 10, 30, MaxDelayMinutes, 0, -3, MaxDelayMinutes + 1}
	fuzzTypes   = []klaxon.TargetType{klaxon.TargetUser, klaxon.TargetSchedule, klaxon.TargetTeam, "", "rota"}
	fuzzIDs     = []int64{1, 2, 3, 0, -7}
	fuzzKinds   = []EventKind{EventTriggered, EventAcknowledged, EventUnacknowledged, EventEscalatedNow, EventResolved, "note"}
	fuzzGaps    = []time.Duration{0, 30 * time.Second, time.Minute, 4 * time.Minute, 5 * time.Minute, 9 * time.Minute, 15 * time.Minute, time.Hour, -2 * time.Minute}
	validDelays = 5
	validTypes  = 3
	validIDs    = 3
)

// genPolicy builds a policy and says whether it is valid, by the rules of
// Validate written out independently.
func genPolicy(r *fuzzBytes) (Policy, bool) {
	valid := true
	n := r.pick(5)
	if r.pick(32) == 0 {
		n = MaxSteps + 1
	}
	valid = valid && n > 0 && n <= MaxSteps
	p := Policy{Repeat: r.pick(12) - 1}
	valid = valid && p.Repeat >= 0 && p.Repeat <= MaxRepeat
	for range n {
		d := r.pick(len(fuzzDelays))
		valid = valid && d < validDelays
		s := klaxon.EscalationStep{DelayMinutes: fuzzDelays[d]}
		m := r.pick(4)
		if r.pick(32) == 0 {
			m = MaxTargetsPerStep + 1
		}
		valid = valid && m > 0 && m <= MaxTargetsPerStep
		for range m {
			ty, id := r.pick(len(fuzzTypes)), r.pick(len(fuzzIDs))
			valid = valid && ty < validTypes && id < validIDs
			tg := klaxon.Target{Type: fuzzTypes[ty], ID: fuzzIDs[id]}
			valid = valid && !slices.Contains(s.Targets, tg)
			s.Targets = append(s.Targets, tg)
		}
		p.Steps = append(p.Steps, s)
	}
	return p, valid
}

// genHistory builds up to a dozen entries, mostly starting with a trigger,
// mostly in time order.
func genHistory(r *fuzzBytes) []Event {
	var h []Event
	at := t0
	if r.pick(4) != 0 {
		h = append(h, Event{Kind: EventTriggered, At: at})
	}
	for range r.pick(13) {
		at = at.Add(fuzzGaps[r.pick(len(fuzzGaps))])
		h = append(h, Event{Kind: fuzzKinds[r.pick(len(fuzzKinds))], At: at})
	}
	return h
}

// checkValidate checks that Validate agrees with the generator, and answers
// with an error a person can act on.
func checkValidate(t *testing.T, p Policy, valid bool) {
	t.Helper()
	err := p.Validate()
	if valid != (err == nil) {
		t.Fatalf("Validate() = %v, but the generator made the policy valid=%v: %+v", err, valid, p)
	}
	if err != nil {
		if e, ok := klaxon.AsError(err); !ok || e.Code != klaxon.EINVALID || e.Field == "" {
			t.Fatalf("Validate() = %#v, want a *klaxon.Error naming a field", err)
		}
	}
}

// checkPlan checks one plan against its inputs.
func checkPlan(t *testing.T, p Policy, history []Event, plan Plan, now time.Time, opt Options) {
	t.Helper()
	if plan.HasNext != !plan.Next.IsZero() || plan.HasNext && !plan.Next.After(now) {
		t.Fatalf("next %v (has %v) is not after now %v", plan.Next, plan.HasNext, now)
	}
	sorted := inOrder(history)
	seen := map[FiringID]bool{}
	for i, f := range plan.Due {
		if f.At.After(now) {
			t.Fatalf("%s at %v is after now %v", f.Key(), f.At, now)
		}
		if seen[f.FiringID] {
			t.Fatalf("%s fires twice: %v", f.Key(), plan.Due)
		}
		seen[f.FiringID] = true
		if f.Step >= len(p.Steps) || !slices.Equal(f.Targets, p.Steps[f.Step].Targets) {
			t.Fatalf("%s pages %v, not its step's targets", f.Key(), f.Targets)
		}
		if opt.LowUrgency && (f.Round != 0 || f.Step != 0) {
			t.Fatalf("low urgency escalated to %s", f.Key())
		}
		if f.Round > MaxRepeat || f.Round > max(p.Repeat, 0) {
			t.Fatalf("%s is past the last round", f.Key())
		}
		var prev *Firing
		if i > 0 {
			prev = &plan.Due[i-1]
			if f.At.Before(prev.At) {
				t.Fatalf("due firings out of order: %v", plan.Due)
			}
		}
		if !explained(p, sorted, f, prev) {
			t.Fatalf("nothing in the history explains %s at %v\nhistory %v\ndue %v", f.Key(), f.At, sorted, plan.Due)
		}
		if !openAt(sorted, f.At) {
			t.Fatalf("%s fires at %v while the alert is not open\nhistory %v", f.Key(), f.At, sorted)
		}
	}
}

// explained reports whether a firing happens when it may: at an entry that
// fires a step (a trigger, an unack, an escalation), or one delay after the
// firing before it, in the same epoch.
func explained(p Policy, sorted []Event, f Firing, prev *Firing) bool {
	for _, e := range sorted {
		if e.At.Equal(f.At) && (e.Kind == EventTriggered || e.Kind == EventUnacknowledged || e.Kind == EventEscalatedNow) {
			return true
		}
	}
	if prev == nil || prev.Epoch != f.Epoch {
		return false
	}
	delay := min(max(p.Steps[prev.Step].DelayMinutes, MinDelayMinutes), MaxDelayMinutes)
	return f.At.Equal(prev.At.Add(time.Duration(delay) * time.Minute))
}

// openAt reports whether the alert is open (triggered, not acknowledged, not
// resolved) at some moment of instant t: just before the entries at t take
// effect, or after any of them. It is the alert's own status machine, much
// simpler than escalation's, to check escalation against.
func openAt(sorted []Event, t time.Time) bool {
	const none, open, ackd, done = 0, 1, 2, 3
	status := none
	for _, e := range sorted {
		if e.At.After(t) {
			break
		}
		if e.At.Equal(t) && status == open {
			return true // the moment just before this entry
		}
		switch {
		case e.Kind == EventTriggered && status == none,
			e.Kind == EventUnacknowledged && status == ackd:
			status = open
		case e.Kind == EventAcknowledged && status == open:
			status = ackd
		case e.Kind == EventResolved:
			status = done
		}
	}
	return status == open
}
