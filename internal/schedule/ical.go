package schedule

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// This file writes shifts as an iCalendar feed (RFC 5545), so people can
// subscribe to their on-call time from any calendar application. It is pure
// text: the caller supplies the names, the UIDs and the DTSTAMP, and reads
// no clock here, so the same input always renders the same bytes.

// Calendar is one iCalendar feed: a schedule's shifts, or one person's
// shifts across schedules.
type Calendar struct {
	// Name is shown by calendar applications (X-WR-CALNAME).
	Name string
	// Stamp is when the feed was generated (every event's DTSTAMP); the
	// caller reads the clock, so rendering stays reproducible.
	Stamp  time.Time
	Events []CalendarEvent
}

// CalendarEvent is one shift in a feed.
type CalendarEvent struct {
	// UID identifies the event across re-fetches, so a calendar updates it
	// instead of adding a copy; see EventUID. Empty gets one made from the
	// event's times.
	UID string
	// Summary is the event's title, such as "On call: Ada Lovelace".
	Summary string
	// Description is optional further text.
	Description string
	Start, End  time.Time
}

// EventUID is a UID for a shift that stays the same on every render: it is
// made from the schedule, the person and the shift's start, which do not
// change while the shift does not. A shift cut at the start of the queried
// range gets its UID from the cut, so a feed should query from a fixed
// point (midnight, say) rather than from the moment of the request.
func EventUID(scheduleID, userID int64, start time.Time) string {
	return fmt.Sprintf("shift-%d-%d-%s@klaxon", scheduleID, userID, icalTime(start))
}

// RenderICal renders cal as an iCalendar object: CRLF line endings, lines
// folded at 75 octets without splitting a UTF-8 sequence, text escaped,
// times in UTC.
func RenderICal(cal Calendar) []byte {
	var b strings.Builder
	line := func(name, value string) { writeFolded(&b, name+":"+value) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Klaxon//Klaxon//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	line("X-WR-CALNAME", escapeText(cal.Name))
	stamp := icalTime(cal.Stamp)
	for _, e := range cal.Events {
		uid := e.UID
		if uid == "" {
			uid = fmt.Sprintf("event-%s-%s@klaxon", icalTime(e.Start), icalTime(e.End))
		}
		line("BEGIN", "VEVENT")
		line("UID", escapeText(uid))
		line("DTSTAMP", stamp)
		line("DTSTART", icalTime(e.Start))
		line("DTEND", icalTime(e.End))
		line("SUMMARY", escapeText(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", escapeText(e.Description))
		}
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// icalTime formats an instant as an RFC 5545 UTC date-time,
// "20260307T170000Z". Seconds are the finest unit iCalendar has.
func icalTime(t time.Time) string {
	return t.UTC().Format("20060102T150405Z")
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash,
// semicolon, comma and line breaks. Invalid UTF-8 becomes U+FFFD and other
// control characters, which TEXT does not allow, are dropped.
func escapeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\', r == ';', r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			// dropped
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxLineOctets is the longest a content line may be, CRLF excluded.
const maxLineOctets = 75

// writeFolded writes one content line, folded (RFC 5545 §3.1): a line
// longer than 75 octets continues on the next line after one space, and no
// UTF-8 sequence is split across the break.
func writeFolded(b *strings.Builder, s string) {
	limit := maxLineOctets
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = maxLineOctets - 1 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
