package klaxon

import "time"

// Clock tells the time. Everything that reads the time takes a Clock, so that
// tests can move time instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
