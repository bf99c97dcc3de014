// Package escalation is the pure arithmetic of escalation policies: given a
// policy, the history of one alert and the time now, it says which steps are
// due, at which instants, and when the next one will be.
//
// It holds no state and does no I/O, so the engine that runs it can call it
// again after every change of the alert, and after every deadline it returned,
// from any node, and get the same answer: a [Plan] whose due firings carry a
// stable identity ([FiringID]) that the engine records to fire each one once.
// A node killed mid-escalation loses nothing, because the next node recomputes
// the same plan from the same history.
//
// [Policy.Validate] checks the parts of a klaxon.EscalationPolicy that the
// arithmetic depends on (steps, delays, targets, repeat); klaxon's own
// Validate checks its name and description. docs/escalation.md explains the
// semantics and why they were chosen.
package escalation
