package escalation

import (
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

// user, schedule and team build targets tersely for the tables.
func user(id int64) klaxon.Target     { return klaxon.Target{Type: klaxon.TargetUser, ID: id} }
func schedule(id int64) klaxon.Target { return klaxon.Target{Type: klaxon.TargetSchedule, ID: id} }
func team(id int64) klaxon.Target     { return klaxon.Target{Type: klaxon.TargetTeam, ID: id} }

// step builds one step.
func step(delay int, targets ...klaxon.Target) klaxon.EscalationStep {
	return klaxon.EscalationStep{DelayMinutes: delay, Targets: targets}
}

// largest is a policy at every limit at once, which must still validate.
func largest() Policy {
	var targets []klaxon.Target
	for i := range MaxTargetsPerStep {
		targets = append(targets, user(int64(i+1)))
	}
	p := Policy{Repeat: MaxRepeat}
	for range MaxSteps {
		p.Steps = append(p.Steps, step(MaxDelayMinutes, targets...))
	}
	return p
}

func TestPolicyValidate(t *testing.T) {
	manyTargets := make([]klaxon.Target, MaxTargetsPerStep+1)
	for i := range manyTargets {
		manyTargets[i] = schedule(int64(i + 1))
	}
	tooLong := largest()
	tooLong.Steps = append(tooLong.Steps, step(5, user(1)))

	for _, tc := range []struct {
		name  string
		p     Policy
		field string // "" when the policy is valid
	}{
		{"one step, one target", Policy{Steps: []klaxon.EscalationStep{step(1, user(1))}}, ""},
		{"every limit reached", largest(), ""},
		{"three kinds of target", Policy{Steps: []klaxon.EscalationStep{step(5, user(1), schedule(1), team(1))}, Repeat: 2}, ""},
		{"same target in two steps", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(5, user(2)), step(5, user(1))}}, ""},
		{"nil steps", Policy{}, "steps"},
		{"empty steps", Policy{Steps: []klaxon.EscalationStep{}}, "steps"},
		{"too many steps", tooLong, "steps"},
		{"zero delay", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(0, user(2))}}, "steps[1].delay_minutes"},
		{"negative delay", Policy{Steps: []klaxon.EscalationStep{step(-5, user(1))}}, "steps[0].delay_minutes"},
		{"delay over a week", Policy{Steps: []klaxon.EscalationStep{step(MaxDelayMinutes+1, user(1))}}, "steps[0].delay_minutes"},
		{"last step's delay checked without repeat", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(0, user(2))}, Repeat: 0}, "steps[1].delay_minutes"},
		{"no targets", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(5)}}, "steps[1].targets"},
		{"too many targets", Policy{Steps: []klaxon.EscalationStep{step(5, manyTargets...)}}, "steps[0].targets"},
		{"empty target type", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(5, klaxon.Target{ID: 3})}}, "steps[1].targets[0].type"},
		{"unknown target type", Policy{Steps: []klaxon.EscalationStep{step(5, klaxon.Target{Type: "rota", ID: 3})}}, "steps[0].targets[0].type"},
		{"target type is case sensitive", Policy{Steps: []klaxon.EscalationStep{step(5, klaxon.Target{Type: "User", ID: 3})}}, "steps[0].targets[0].type"},
		{"zero id", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(5, team(0))}}, "steps[1].targets[0].id"},
		{"negative id", Policy{Steps: []klaxon.EscalationStep{step(5, user(1), user(-2))}}, "steps[0].targets[1].id"},
		{"duplicate target", Policy{Steps: []klaxon.EscalationStep{step(5, user(1)), step(5, user(7), team(7), user(7))}}, "steps[1].targets[2]"},
		{"same id, other type", Policy{Steps: []klaxon.EscalationStep{step(5, user(7), schedule(7), team(7))}}, ""},
		{"negative repeat", Policy{Steps: []klaxon.EscalationStep{step(5, user(1))}, Repeat: -1}, "repeat"},
		{"repeat over nine", Policy{Steps: []klaxon.EscalationStep{step(5, user(1))}, Repeat: MaxRepeat + 1}, "repeat"},
		{"first problem wins", Policy{Steps: []klaxon.EscalationStep{step(0, user(1)), step(5)}, Repeat: -1}, "steps[0].delay_minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			e, ok := klaxon.AsError(err)
			if !ok {
				t.Fatalf("Validate() = %v (%T), want a *klaxon.Error", err, err)
			}
			if e.Code != klaxon.EINVALID || e.Field != tc.field || e.Message == "" {
				t.Fatalf("Validate() = {%s %q %q}, want code %s on field %q", e.Code, e.Field, e.Message, klaxon.EINVALID, tc.field)
			}
		})
	}
}

func TestFromDomain(t *testing.T) {
	steps := []klaxon.EscalationStep{step(5, user(1)), step(10, schedule(2), team(3))}
	got := FromDomain(klaxon.EscalationPolicy{
		ID: 4, Name: "checkout", Description: "the checkout team", Repeat: 2, Steps: steps,
		CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(2, 0),
	})
	if want := (Policy{Steps: steps, Repeat: 2}); !reflect.DeepEqual(got, want) {
		t.Fatalf("FromDomain = %+v, want %+v", got, want)
	}
}
