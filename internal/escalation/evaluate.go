package escalation

import (
	"slices"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon"
)

// EventKind is something that happened to an alert that changes its
// escalation. The engine builds the history from the alert's events and log.
type EventKind string

// The event kinds. Anything else in a history is ignored, so that new kinds
// of log entries (notes, reassignments) can be passed through harmlessly.
const (
	// EventTriggered opens the alert: step 0 of round 0 fires at once. Only
	// the first one counts; a later trigger folds into the open alert and
	// neither restarts nor resumes escalation (an acknowledged alert stays
	// acknowledged, as klaxon.AlertStatus says).
	EventTriggered EventKind = "triggered"
	// EventAcknowledged stops all further steps until an EventUnacknowledged.
	EventAcknowledged EventKind = "acknowledged"
	// EventUnacknowledged undoes an acknowledgement (by hand, or because the
	// service's acknowledgement timeout ran out): the step that was current
	// fires again at once, and escalation continues from it.
	EventUnacknowledged EventKind = "unacknowledged"
	// EventEscalatedNow is a person asking for the next step now instead of
	// at its deadline; the delays after it count from now.
	EventEscalatedNow EventKind = "escalated"
	// EventResolved ends the escalation for good: a resolved alert never
	// reopens (a new trigger creates a new alert).
	EventResolved EventKind = "resolved"
)

// Event is one entry of an alert's history.
type Event struct {
	Kind EventKind
	At   time.Time
}

// Options are the facts about the alert, other than its history, that change
// how it escalates.
type Options struct {
	// LowUrgency alerts notify but do not escalate: only step 0 of round 0
	// ever fires (again after an EventUnacknowledged), never a later step
	// or round, and EventEscalatedNow does nothing.
	LowUrgency bool
}

// FiringID names one firing so that the engine can record that it fired it
// and never fire it twice. It is stable: evaluating again later, with the
// same history plus entries at or after the earlier now, gives the firings
// already due the same IDs.
type FiringID struct {
	// Epoch counts the EventUnacknowledged entries that took effect before
	// the firing. It is what lets the same (Round, Step) fire again after an
	// acknowledgement is undone and still have a new identity.
	Epoch int
	Round int // 0 for the first pass, up to the policy's Repeat
	Step  int // index into the policy's steps
}

// Key renders the ID as one short string ("e0.r1.s2") for logs, job
// payloads and unique keys in the store.
func (id FiringID) Key() string {
	b := make([]byte, 0, 16)
	b = append(b, 'e')
	b = strconv.AppendInt(b, int64(id.Epoch), 10)
	b = append(b, ".r"...)
	b = strconv.AppendInt(b, int64(id.Round), 10)
	b = append(b, ".s"...)
	b = strconv.AppendInt(b, int64(id.Step), 10)
	return string(b)
}

// Firing is one step paging its targets at one instant.
type Firing struct {
	FiringID
	At time.Time
	// Targets are the step's targets, shared with the policy: read them,
	// do not modify them. They resolve to people when the engine fires.
	Targets []klaxon.Target
}

// Plan is the answer of Evaluate: what is due and when to ask again.
type Plan struct {
	// Due lists every firing at or before now, in the order they happen
	// (by At; at one instant, in the order of the history). The engine
	// fires those whose ID it has not recorded yet.
	Due []Firing
	// Next is the instant of the next firing after now, if HasNext; the
	// engine evaluates again then, or sooner if the alert changes.
	Next    time.Time
	HasNext bool
}

// Evaluate walks the policy along the alert's history up to now and returns
// the firings due and the next deadline. It never fails and never panics:
// entries that make no sense in the alert's state are ignored (see
// docs/escalation.md), and a policy that does not validate is clamped into
// range rather than trusted (delays to [MinDelayMinutes, MaxDelayMinutes],
// Repeat to [0, MaxRepeat]; no steps means nothing fires).
//
// The history is taken in time order; entries at the same instant keep
// their order. An unsorted history is sorted (stably) on a copy. Entries
// after now are taken into account only for Next, so that a history written
// by a node whose clock runs ahead still yields a deadline.
//
// At one instant, the step scheduled for it fires before the history's
// entries at that instant take effect: an acknowledgement cannot take back a
// page that was due when it arrived. The cost is O(len(history) + firings).
func Evaluate(p Policy, history []Event, now time.Time, opt Options) Plan {
	w := newWalker(p, now, opt)
	if len(w.steps) == 0 {
		return Plan{}
	}
	for _, e := range inOrder(history) {
		w.runUntil(e.At)
		if w.plan.HasNext || w.phase == resolved {
			break
		}
		w.apply(e)
		if w.plan.HasNext {
			break
		}
	}
	// Nothing else will happen: run to the first firing after now, or to
	// the end of the policy. Each firing moves to a later (round, step), so
	// this ends.
	for w.phase == escalating && !w.plan.HasNext {
		w.fire(w.cursor, w.nextAt)
	}
	return w.plan
}

// inOrder returns the history sorted by time, copying only when it is not
// sorted already, so that the common case costs one pass and no allocation.
func inOrder(history []Event) []Event {
	byTime := func(a, b Event) int { return a.At.Compare(b.At) }
	if slices.IsSortedFunc(history, byTime) {
		return history
	}
	sorted := slices.Clone(history)
	slices.SortStableFunc(sorted, byTime)
	return sorted
}

// phase is where the escalation of one alert stands.
type phase int

const (
	idle       phase = iota // not triggered yet
	escalating              // triggered, a next step is pending at nextAt
	exhausted               // triggered, every step of every round has fired
	acked                   // acknowledged: nothing fires
	resolved                // resolved: nothing fires, nothing changes it
)

// position is one step of one round.
type position struct{ round, step int }

// walker is the state of one Evaluate call.
type walker struct {
	steps  []klaxon.EscalationStep
	rounds int // 1 + repeat
	now    time.Time

	phase   phase
	epoch   int
	current position  // the step that fired last
	cursor  position  // the step that fires next, when escalating
	nextAt  time.Time // when the cursor fires, when escalating
	plan    Plan
}

// newWalker clamps the policy into the range Validate enforces, so that a
// bad policy stored before a rule existed cannot page every level at once.
func newWalker(p Policy, now time.Time, opt Options) *walker {
	w := &walker{steps: p.Steps, rounds: 1 + min(max(p.Repeat, 0), MaxRepeat), now: now}
	if opt.LowUrgency && len(w.steps) > 0 {
		w.steps, w.rounds = w.steps[:1], 1
	}
	return w
}

// delay is how long the step at index i waits before the next one.
func (w *walker) delay(i int) time.Duration {
	d := min(max(w.steps[i].DelayMinutes, MinDelayMinutes), MaxDelayMinutes)
	return time.Duration(d) * time.Minute
}

// successor is the step after pos: the next step of the round, or step 0 of
// the next round; ok is false after the last step of the last round.
func (w *walker) successor(pos position) (next position, ok bool) {
	switch {
	case pos.step+1 < len(w.steps):
		return position{pos.round, pos.step + 1}, true
	case pos.round+1 < w.rounds:
		return position{pos.round + 1, 0}, true
	}
	return position{}, false
}

// runUntil fires the scheduled steps due at or before t.
func (w *walker) runUntil(t time.Time) {
	for w.phase == escalating && !w.plan.HasNext && !w.nextAt.After(t) {
		w.fire(w.cursor, w.nextAt)
	}
}

// apply lets one history entry take effect at its instant. Entries that make
// no sense in the current phase are ignored.
func (w *walker) apply(e Event) {
	switch e.Kind {
	case EventTriggered:
		if w.phase == idle {
			w.fire(position{}, e.At)
		}
	case EventAcknowledged:
		if w.phase == escalating || w.phase == exhausted {
			w.phase = acked
		}
	case EventUnacknowledged:
		if w.phase == acked {
			w.epoch++
			w.fire(w.current, e.At)
		}
	case EventEscalatedNow:
		if w.phase == escalating { // exhausted: there is no next step
			w.fire(w.cursor, e.At)
		}
	case EventResolved:
		w.phase = resolved
	}
}

// fire records the firing of pos at t (in Due, or as Next once past now)
// and schedules the step after it, one delay later.
func (w *walker) fire(pos position, t time.Time) {
	if t.After(w.now) {
		w.plan.Next, w.plan.HasNext = t, true
		return
	}
	w.plan.Due = append(w.plan.Due, Firing{
		FiringID: FiringID{Epoch: w.epoch, Round: pos.round, Step: pos.step},
		At:       t,
		Targets:  w.steps[pos.step].Targets,
	})
	w.current = pos
	next, ok := w.successor(pos)
	at := t.Add(w.delay(pos.step))
	if !ok || !at.After(t) { // !After: the time arithmetic overflowed
		w.phase = exhausted
		return
	}
	w.phase, w.cursor, w.nextAt = escalating, next, at
}
