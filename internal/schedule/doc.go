// Package schedule is Klaxon's on-call arithmetic: who is on call at an
// instant, the shifts and the gaps in a range, and the iCalendar text of
// those shifts.
//
// A Schedule is a time zone, layers and overrides. A layer rotates its
// participants through shifts of Every hours, days or weeks from a
// wall-clock start; restrictions limit it to windows of the day; a later
// layer wins over an earlier one, and overrides win over all layers.
// Days and weeks are counted on the zone's wall calendar, so a daily
// hand-off stays at 09:00 across DST changes; hours are counted in real
// time. Wall-clock readings that a DST change skips or repeats resolve by
// fixed rules (see LocalTime.In), never by time.Date's unspecified choice.
//
// The package is pure: no clock, no storage, no state between calls. The
// one thing it reads is the system's time zone database, in LoadZone and
// Compile. docs/schedules.md describes the model for users.
package schedule
