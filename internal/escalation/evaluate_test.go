package escalation

import (
	"reflect"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the DST row needs America/New_York on any machine

	"github.com/klaxonhq/klaxon"
)

// t0 is when the alerts of the tables trigger; the tables give every other
// instant as an offset from it.
var t0 = time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)

// off is t0 plus a duration written as Go writes durations ("5m", "-1m30s").
func off(d string) time.Time {
	dur, err := time.ParseDuration(d)
	if err != nil {
		panic(err)
	}
	return t0.Add(dur)
}

// ev is one history entry at an offset from t0.
func ev(kind EventKind, at string) Event { return Event{Kind: kind, At: off(at)} }

// three is the policy most rows use: a user at once, a schedule after 5
// minutes, a team 10 minutes later; the team's 15 minutes lead to the next
// round.
func three(repeat int) Policy {
	return Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(10, schedule(2)), step(15, team(3))}, Repeat: repeat}
}

// render writes a plan as "key@offset" strings and the next deadline as an
// offset ("" for none), so that a table row reads like a timeline.
func render(p Plan) (due []string, next string) {
	for _, f := range p.Due {
		due = append(due, f.Key()+"@"+f.At.Sub(t0).String())
	}
	if p.HasNext {
		next = p.Next.Sub(t0).String()
	}
	return due, next
}

// plain is the timeline of three(0) triggered at t0 and left alone.
var plain = []string{"e0.r0.s0@0s", "e0.r0.s1@5m0s", "e0.r0.s2@15m0s"}

var triggered = Event{Kind: EventTriggered, At: t0}

var evaluateRows = []struct {
	name    string
	policy  Policy
	history []Event
	now     string
	low     bool
	due     []string
	next    string
}{
	// The policy walked to its end, and the deadlines on the way.
	{"three steps to the end", three(0), []Event{triggered}, "2h", false, plain, ""},
	{"at the trigger instant", three(0), []Event{triggered}, "0s", false, plain[:1], "5m0s"},
	{"just before a deadline", three(0), []Event{triggered}, "4m59s", false, plain[:1], "5m0s"},
	{"exactly at a deadline", three(0), []Event{triggered}, "5m", false, plain[:2], "15m0s"},
	{"between the last two steps", three(0), []Event{triggered}, "14m", false, plain[:2], "15m0s"},
	{"last step's delay unused without repeat", three(0), []Event{triggered}, "15m", false, plain, ""},

	// Repeats: the last step's delay leads to step 0 of the next round.
	{"repeat 0 is one pass", three(0), []Event{triggered}, "24h", false, plain, ""},
	{"repeat 1", three(1), []Event{triggered}, "24h", false,
		append(slices.Clip(plain), "e0.r1.s0@30m0s", "e0.r1.s1@35m0s", "e0.r1.s2@45m0s"), ""},
	{"repeat 2", three(2), []Event{triggered}, "24h", false,
		append(slices.Clip(plain), "e0.r1.s0@30m0s", "e0.r1.s1@35m0s", "e0.r1.s2@45m0s",
			"e0.r2.s0@1h0m0s", "e0.r2.s1@1h5m0s", "e0.r2.s2@1h15m0s"), ""},
	{"waiting for the next round", three(1), []Event{triggered}, "29m", false, plain, "30m0s"},
	{"one step repeated", Policy{Steps: []klaxon.EscalationStep{step(10, user(1))}, Repeat: 2}, []Event{triggered}, "1h", false,
		[]string{"e0.r0.s0@0s", "e0.r1.s0@10m0s", "e0.r2.s0@20m0s"}, ""},

	// Acknowledgement and its undoing.
	{"ack stops", three(2), []Event{triggered, ev(EventAcknowledged, "3m")}, "24h", false, plain[:1], ""},
	{"ack at a deadline comes after it", three(0), []Event{triggered, ev(EventAcknowledged, "5m")}, "24h", false, plain[:2], ""},
	{"ack at the trigger instant", three(0), []Event{triggered, ev(EventAcknowledged, "0s")}, "24h", false, plain[:1], ""},
	{"unack fires the current step again", three(0),
		[]Event{triggered, ev(EventAcknowledged, "3m"), ev(EventUnacknowledged, "1h")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e1.r0.s0@1h0m0s", "e1.r0.s1@1h5m0s", "e1.r0.s2@1h15m0s"}, ""},
	{"unack mid-policy continues with that step's delay", three(0),
		[]Event{triggered, ev(EventAcknowledged, "7m"), ev(EventUnacknowledged, "30m")}, "39m", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@5m0s", "e1.r0.s1@30m0s"}, "40m0s"},
	{"unack after the last step fires it again", three(0),
		[]Event{triggered, ev(EventAcknowledged, "50m"), ev(EventUnacknowledged, "1h")}, "24h", false,
		append(slices.Clip(plain), "e1.r0.s2@1h0m0s"), ""},
	{"unack keeps the round", three(1),
		[]Event{triggered, ev(EventAcknowledged, "31m"), ev(EventUnacknowledged, "40m")}, "24h", false,
		append(slices.Clip(plain), "e0.r1.s0@30m0s", "e1.r1.s0@40m0s", "e1.r1.s1@45m0s", "e1.r1.s2@55m0s"), ""},
	{"second ack and unack", three(0),
		[]Event{triggered, ev(EventAcknowledged, "1m"), ev(EventUnacknowledged, "2m"), ev(EventAcknowledged, "3m"), ev(EventUnacknowledged, "4m")}, "4m", false,
		[]string{"e0.r0.s0@0s", "e1.r0.s0@2m0s", "e2.r0.s0@4m0s"}, "9m0s"},
	{"ack twice, unack once", three(0),
		[]Event{triggered, ev(EventAcknowledged, "1m"), ev(EventAcknowledged, "2m"), ev(EventUnacknowledged, "3m")}, "3m", false,
		[]string{"e0.r0.s0@0s", "e1.r0.s0@3m0s"}, "8m0s"},
	{"unack while not acked is ignored", three(0), []Event{triggered, ev(EventUnacknowledged, "2m")}, "24h", false, plain, ""},

	// Escalating by hand.
	{"escalate now re-bases the delays", three(0), []Event{triggered, ev(EventEscalatedNow, "2m")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@2m0s", "e0.r0.s2@12m0s"}, ""},
	{"escalate now twice", three(0), []Event{triggered, ev(EventEscalatedNow, "1m"), ev(EventEscalatedNow, "2m")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@1m0s", "e0.r0.s2@2m0s"}, ""},
	{"escalate past the last step into the next round", three(1),
		[]Event{triggered, ev(EventEscalatedNow, "1m"), ev(EventEscalatedNow, "2m"), ev(EventEscalatedNow, "3m")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@1m0s", "e0.r0.s2@2m0s", "e0.r1.s0@3m0s", "e0.r1.s1@8m0s", "e0.r1.s2@18m0s"}, ""},
	{"escalate past the last step of the last round does nothing", three(0),
		[]Event{triggered, ev(EventEscalatedNow, "1m"), ev(EventEscalatedNow, "2m"), ev(EventEscalatedNow, "3m")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@1m0s", "e0.r0.s2@2m0s"}, ""},
	{"escalate at a deadline goes one further", three(0), []Event{triggered, ev(EventEscalatedNow, "5m")}, "5m", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@5m0s", "e0.r0.s2@5m0s"}, ""},
	{"escalate while acked is ignored", three(0), []Event{triggered, ev(EventAcknowledged, "1m"), ev(EventEscalatedNow, "2m")}, "24h", false, plain[:1], ""},
	{"escalate after unack", three(0),
		[]Event{triggered, ev(EventAcknowledged, "1m"), ev(EventUnacknowledged, "2m"), ev(EventEscalatedNow, "3m")}, "24h", false,
		[]string{"e0.r0.s0@0s", "e1.r0.s0@2m0s", "e1.r0.s1@3m0s", "e1.r0.s2@13m0s"}, ""},

	// Resolution is final.
	{"resolved stops", three(2), []Event{triggered, ev(EventResolved, "7m")}, "24h", false, plain[:2], ""},
	{"resolved while acked", three(0), []Event{triggered, ev(EventAcknowledged, "1m"), ev(EventResolved, "2m"), ev(EventUnacknowledged, "3m")}, "24h", false, plain[:1], ""},
	{"everything after resolved is ignored", three(0),
		[]Event{triggered, ev(EventResolved, "7m"), ev(EventTriggered, "8m"), ev(EventUnacknowledged, "9m"), ev(EventEscalatedNow, "10m")}, "24h", false, plain[:2], ""},
	{"resolved before the trigger", three(0), []Event{ev(EventResolved, "-1m"), triggered}, "24h", false, nil, ""},

	// Low urgency notifies and does not escalate.
	{"low urgency", three(2), []Event{triggered}, "24h", true, plain[:1], ""},
	{"low urgency ignores escalate now", three(2), []Event{triggered, ev(EventEscalatedNow, "1m")}, "24h", true, plain[:1], ""},
	{"low urgency notifies again after unack", three(2),
		[]Event{triggered, ev(EventAcknowledged, "1m"), ev(EventUnacknowledged, "10m")}, "24h", true,
		[]string{"e0.r0.s0@0s", "e1.r0.s0@10m0s"}, ""},

	// Odd histories.
	{"empty history", three(0), nil, "24h", false, nil, ""},
	{"now before the trigger", three(0), []Event{triggered}, "-1m", false, nil, "0s"},
	{"out of order is sorted", three(0), []Event{ev(EventAcknowledged, "3m"), triggered}, "24h", false, plain[:1], ""},
	{"ties keep their order: trigger then ack", three(0), []Event{triggered, ev(EventAcknowledged, "0s")}, "24h", false, plain[:1], ""},
	{"ties keep their order: ack then trigger", three(0), []Event{ev(EventAcknowledged, "0s"), triggered}, "24h", false, plain, ""},
	{"entries before the trigger are ignored", three(0),
		[]Event{ev(EventAcknowledged, "-3m"), ev(EventUnacknowledged, "-2m"), ev(EventEscalatedNow, "-1m"), triggered}, "24h", false, plain, ""},
	{"a second trigger is ignored", three(0), []Event{triggered, ev(EventTriggered, "3m")}, "24h", false, plain, ""},
	{"a trigger leaves an acked alert acked", three(0), []Event{triggered, ev(EventAcknowledged, "1m"), ev(EventTriggered, "2m")}, "24h", false, plain[:1], ""},
	{"unknown kinds are ignored", three(0), []Event{triggered, {Kind: "note", At: off("1m")}, {Kind: "", At: off("2m")}}, "24h", false, plain, ""},
	{"a future ack leaves the deadline", three(0), []Event{triggered, ev(EventAcknowledged, "20m")}, "10m", false, plain[:2], "15m0s"},
	{"a future ack takes the deadline away", three(0), []Event{triggered, ev(EventAcknowledged, "12m")}, "10m", false, plain[:2], ""},
	{"a future escalation is the deadline", three(0), []Event{triggered, ev(EventEscalatedNow, "12m")}, "10m", false, plain[:2], "12m0s"},

	// Policies that do not validate are clamped, never trusted.
	{"no steps", Policy{Repeat: 3}, []Event{triggered}, "24h", false, nil, ""},
	{"zero delays count as one minute", Policy{Steps: []klaxon.EscalationStep{step(0, user(1)), step(-4, user(2))}, Repeat: 1}, []Event{triggered}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r0.s1@1m0s", "e0.r1.s0@2m0s", "e0.r1.s1@3m0s"}, ""},
	{"huge delays count as a week", Policy{Steps: []klaxon.EscalationStep{step(1<<40, user(1)), step(5, user(2))}}, []Event{triggered}, "24h", false,
		[]string{"e0.r0.s0@0s"}, "168h0m0s"},
	{"repeat over nine counts as nine", Policy{Steps: []klaxon.EscalationStep{step(1, user(1))}, Repeat: 1000}, []Event{triggered}, "24h", false,
		[]string{"e0.r0.s0@0s", "e0.r1.s0@1m0s", "e0.r2.s0@2m0s", "e0.r3.s0@3m0s", "e0.r4.s0@4m0s",
			"e0.r5.s0@5m0s", "e0.r6.s0@6m0s", "e0.r7.s0@7m0s", "e0.r8.s0@8m0s", "e0.r9.s0@9m0s"}, ""},
	{"negative repeat counts as zero", Policy{Steps: []klaxon.EscalationStep{step(1, user(1))}, Repeat: -2}, []Event{triggered}, "24h", false,
		[]string{"e0.r0.s0@0s"}, ""},
}

func TestEvaluate(t *testing.T) {
	for _, tc := range evaluateRows {
		t.Run(tc.name, func(t *testing.T) {
			history := slices.Clone(tc.history)
			plan := Evaluate(tc.policy, history, off(tc.now), Options{LowUrgency: tc.low})
			due, next := render(plan)
			if !slices.Equal(due, tc.due) || next != tc.next {
				t.Fatalf("Evaluate at %s\n got due %q next %q\nwant due %q next %q", tc.now, due, next, tc.due, tc.next)
			}
			for _, f := range plan.Due {
				if want := tc.policy.Steps[f.Step].Targets; !reflect.DeepEqual(f.Targets, want) {
					t.Errorf("%s pages %v, want step %d's %v", f.Key(), f.Targets, f.Step, want)
				}
			}
			if !reflect.DeepEqual(history, tc.history) {
				t.Errorf("Evaluate modified the history: %v", history)
			}
		})
	}
}

// TestEvaluateStable evaluates every row at every half minute of its first
// three hours: the firings due earlier must stay due, in the same order, with
// the same identities, and each deadline must be when the next firing comes.
func TestEvaluateStable(t *testing.T) {
	for _, tc := range evaluateRows {
		t.Run(tc.name, func(t *testing.T) {
			opt := Options{LowUrgency: tc.low}
			prev := Evaluate(tc.policy, tc.history, off("-10m"), opt)
			for now := off("-10m"); now.Before(off("3h")); now = now.Add(30 * time.Second) {
				plan := Evaluate(tc.policy, tc.history, now, opt)
				checkGrows(t, prev, plan, now)
				prev = plan
			}
		})
	}
}

// checkGrows checks that later is what earlier becomes as time passes
// without anything happening to the alert.
func checkGrows(t *testing.T, earlier, later Plan, now time.Time) {
	t.Helper()
	if len(later.Due) < len(earlier.Due) || !slices.EqualFunc(later.Due[:len(earlier.Due)], earlier.Due, sameFiring) {
		t.Fatalf("at %s the due firings are not a continuation:\nearlier %v\nlater   %v", now, earlier.Due, later.Due)
	}
	added := later.Due[len(earlier.Due):]
	switch {
	case !earlier.HasNext && (len(added) > 0 || later.HasNext):
		t.Fatalf("at %s something fires after a plan that said nothing would: %v", now, added)
	case earlier.HasNext && len(added) > 0 && !added[0].At.Equal(earlier.Next):
		t.Fatalf("at %s the first new firing is at %s, but the deadline was %s", now, added[0].At, earlier.Next)
	case earlier.HasNext && len(added) == 0 && (!later.HasNext || !later.Next.Equal(earlier.Next)):
		t.Fatalf("at %s the deadline moved from %s to %v/%v with nothing fired", now, earlier.Next, later.Next, later.HasNext)
	}
}

// sameFiring reports whether two firings are the same page: same identity,
// same instant, same targets.
func sameFiring(a, b Firing) bool {
	return a.FiringID == b.FiringID && a.At.Equal(b.At) && slices.Equal(a.Targets, b.Targets)
}

// TestEvaluateDelaysAreElapsedTime pins that delays are minutes of real time,
// not of the wall clock: across the spring-forward gap in New York a 30
// minute delay from 01:50 EST ends at 03:20 EDT, and in the autumn the same
// wall-clock times come twice.
func TestEvaluateDelaysAreElapsedTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trigger time.Time
		want    []string
	}{
		{"spring forward", time.Date(2026, 3, 8, 6, 50, 0, 0, time.UTC).In(ny), []string{"01:50 EST", "03:20 EDT", "03:50 EDT", "04:20 EDT"}},
		{"fall back", time.Date(2026, 11, 1, 5, 10, 0, 0, time.UTC).In(ny), []string{"01:10 EDT", "01:40 EDT", "01:10 EST", "01:40 EST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Steps: []klaxon.EscalationStep{step(30, user(1))}, Repeat: 3}
			plan := Evaluate(p, []Event{{Kind: EventTriggered, At: tc.trigger}}, tc.trigger.Add(24*time.Hour), Options{})
			var got []string
			for _, f := range plan.Due {
				got = append(got, f.At.In(ny).Format("15:04 MST"))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("firings at %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFiringIDKey(t *testing.T) {
	for _, tc := range []struct {
		id   FiringID
		want string
	}{
		{FiringID{}, "e0.r0.s0"},
		{FiringID{Epoch: 12, Round: 9, Step: 19}, "e12.r9.s19"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.id.Key(); got != tc.want {
				t.Fatalf("Key() = %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkEvaluate measures a long escalation: ten steps repeated nine
// times, with a hundred history entries of acks, unacks and escalations.
func BenchmarkEvaluate(b *testing.B) {
	p := Policy{Repeat: MaxRepeat}
	for i := range 10 {
		p.Steps = append(p.Steps, step(5, user(int64(i+1))))
	}
	history := []Event{triggered}
	for i := 1; i < 100; i++ {
		kind := []EventKind{EventAcknowledged, EventUnacknowledged, EventEscalatedNow}[i%3]
		history = append(history, Event{Kind: kind, At: t0.Add(time.Duration(i) * time.Minute)})
	}
	now := t0.Add(48 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(p, history, now, Options{})
	}
}
