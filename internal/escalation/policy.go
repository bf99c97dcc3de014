package escalation

import (
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// The limits a policy must keep. They bound the work one alert can cause:
// at most MaxSteps × (1 + MaxRepeat) firings per pass, each paging at most
// MaxTargetsPerStep targets.
const (
	// MinDelayMinutes is the shortest wait between two steps. Like
	// PagerDuty's one-minute minimum, it gives a person a chance to
	// acknowledge before the next level is woken, and keeps a policy from
	// paging every level in the same instant.
	MinDelayMinutes = 1
	// MaxDelayMinutes is the longest wait between two steps: one week. A
	// longer wait is almost surely a typo (minutes for seconds), and an alert
	// nobody acknowledges for a week needs a person, not a timer.
	MaxDelayMinutes = 7 * 24 * 60
	// MaxRepeat is how many times the whole policy may run again after its
	// first pass, the same cap as PagerDuty's "repeat this policy" (9).
	MaxRepeat = 9
	// MaxSteps bounds the length of a policy; more levels than this is a
	// policy nobody can reason about during an incident.
	MaxSteps = 20
	// MaxTargetsPerStep bounds one step's fan-out. Schedules and teams stand
	// for many people, so twenty targets is already a crowd.
	MaxTargetsPerStep = 20
)

// Policy is the part of a klaxon.EscalationPolicy that decides who is paged
// when: its steps in order, and how often the whole runs again. Names,
// descriptions and ids play no part in the arithmetic and stay in the domain
// type.
type Policy struct {
	Steps  []klaxon.EscalationStep
	Repeat int
}

// FromDomain takes from a stored policy what the arithmetic needs. It shares
// the steps' slices rather than copying them: Evaluate never modifies them.
func FromDomain(p klaxon.EscalationPolicy) Policy {
	return Policy{Steps: p.Steps, Repeat: p.Repeat}
}

// Validate reports the first thing wrong with the policy as a *klaxon.Error
// whose Field is the path a person or a file would use ("steps[1].targets[0].id"),
// so that the API, the console and `klaxon apply` can point at it.
//
// Every step needs a delay in [MinDelayMinutes, MaxDelayMinutes], including
// the last, whose delay matters only when the policy repeats: one rule for
// all steps means that changing Repeat never makes a stored policy invalid.
// A step may not name the same target twice; different steps may, because
// "page the primary again after the secondary" is a common policy.
func (p Policy) Validate() error {
	if len(p.Steps) == 0 {
		return klaxon.FieldError("steps", "needs at least one step")
	}
	if len(p.Steps) > MaxSteps {
		return klaxon.FieldError("steps", "has %d steps, more than the limit of %d", len(p.Steps), MaxSteps)
	}
	for i, step := range p.Steps {
		if err := validateStep(fmt.Sprintf("steps[%d]", i), step); err != nil {
			return err
		}
	}
	if p.Repeat < 0 || p.Repeat > MaxRepeat {
		return klaxon.FieldError("repeat", "must be between 0 and %d, got %d", MaxRepeat, p.Repeat)
	}
	return nil
}

// validateStep checks one step; field is its path, "steps[i]".
func validateStep(field string, step klaxon.EscalationStep) error {
	if step.DelayMinutes < MinDelayMinutes || step.DelayMinutes > MaxDelayMinutes {
		return klaxon.FieldError(field+".delay_minutes", "must be between %d and %d minutes, got %d",
			MinDelayMinutes, MaxDelayMinutes, step.DelayMinutes)
	}
	if len(step.Targets) == 0 {
		return klaxon.FieldError(field+".targets", "needs at least one target")
	}
	if len(step.Targets) > MaxTargetsPerStep {
		return klaxon.FieldError(field+".targets", "has %d targets, more than the limit of %d",
			len(step.Targets), MaxTargetsPerStep)
	}
	for j, t := range step.Targets {
		tf := fmt.Sprintf("%s.targets[%d]", field, j)
		if !t.Type.Valid() {
			return klaxon.FieldError(tf+".type", "must be user, schedule or team, got %q", string(t.Type))
		}
		if t.ID <= 0 {
			return klaxon.FieldError(tf+".id", "must be a positive id, got %d", t.ID)
		}
		// Steps are short (MaxTargetsPerStep), so a quadratic scan beats a map.
		for k := range j {
			if step.Targets[k] == t {
				return klaxon.FieldError(tf, "repeats %s.targets[%d] (%s %d)", field, k, t.Type, t.ID)
			}
		}
	}
	return nil
}
