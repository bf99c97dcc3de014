package schedule

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update after checking):\n got %q\nwant %q", path, got, want)
	}
}

func TestRenderICalGolden(t *testing.T) {
	stamp := mustTime("2026-03-01T08:00:00Z")
	la := mustZone(t, "America/Los_Angeles")
	s := &Schedule{Location: la, Layers: []Layer{{Name: "primary", Start: LocalTime{2026, 3, 6, 9, 0}, Rotation: Rotation{UnitDay, 1}, Users: []int64{1, 2}}}}
	names := map[int64]string{1: "Ada Lovelace", 2: "Grace Hopper"}
	var events []CalendarEvent
	for _, sh := range s.Shifts(LocalTime{2026, 3, 6, 9, 0}.In(la), LocalTime{2026, 3, 9, 9, 0}.In(la)) {
		events = append(events, CalendarEvent{UID: EventUID(42, sh.UserID, sh.Start), Summary: "On call: " + names[sh.UserID], Start: sh.Start, End: sh.End})
	}
	for _, tc := range []struct {
		name string
		cal  Calendar
	}{
		{"ical/schedule.ics", Calendar{Name: "Payments primary", Stamp: stamp, Events: events}},
		{"ical/empty.ics", Calendar{Name: "Nobody yet", Stamp: stamp}},
		{"ical/escaping.ics", Calendar{
			Name:  "Zürich; on call, 24/7 \\ weekends — a name long enough that the calendar name line has to be folded",
			Stamp: stamp,
			Events: []CalendarEvent{{
				Summary:     "On call: 山田 太郎 (primary, secondary; backup) and a summary long enough to fold 😴😴😴",
				Description: "line one\r\nline two\nline three\ta tab, and a bell\a and invalid \xff UTF-8",
				Start:       mustTime("2026-03-08T10:00:00.999Z"),
				End:         mustTime("2026-03-09T09:30:00-07:00"),
			}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderICal(tc.cal)
			golden(t, tc.name, got)
			checkICalLines(t, got)
		})
	}
}

// checkICalLines checks the framing rules on every line: CRLF endings, at
// most 75 octets, continuation lines starting with one space, and no UTF-8
// sequence split across a fold.
func checkICalLines(t *testing.T, b []byte) {
	t.Helper()
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		t.Fatal("does not end with CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
	for i, line := range lines {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF: %q", i, line)
		}
		if len(line) > maxLineOctets {
			t.Fatalf("line %d has %d octets: %q", i, len(line), line)
		}
		if !utf8.ValidString(line) {
			t.Fatalf("line %d splits a UTF-8 sequence: %q", i, line)
		}
	}
}

func TestFolding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value string
	}{
		{"short", "x"},
		{"exactly 75 octets", strings.Repeat("a", 75-len("SUMMARY:"))},
		{"76 octets", strings.Repeat("a", 76-len("SUMMARY:"))},
		{"long ASCII", strings.Repeat("abcdefghij", 30)},
		{"two-byte runes across every boundary", strings.Repeat("é", 200)},
		{"three-byte runes", strings.Repeat("山", 100)},
		{"four-byte runes", strings.Repeat("😴", 100)},
		{"mixed", "a" + strings.Repeat("😴é山", 40)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			writeFolded(&b, "SUMMARY:"+tc.value)
			out := b.String()
			checkICalLines(t, []byte(out))
			// Unfolding (RFC 5545 §3.1: remove CRLF followed by one space)
			// gives the line back.
			if got := strings.TrimSuffix(strings.ReplaceAll(out, "\r\n ", ""), "\r\n"); got != "SUMMARY:"+tc.value {
				t.Fatalf("unfolded to %q", got)
			}
		})
	}
}

func TestEscapeText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "On call: Ada", "On call: Ada"},
		{"backslash", `a\b`, `a\\b`},
		{"semicolon and comma", "a;b,c", `a\;b\,c`},
		{"newlines of every kind", "a\nb\r\nc\rd", `a\nb\nc\nd`},
		{"tab is kept", "a\tb", "a\tb"},
		{"other control characters are dropped", "a\x00b\x1bc\x7f", "abc"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"colon needs no escape", "On call: x", "On call: x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := escapeText(tc.in); got != tc.want {
				t.Fatalf("escapeText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestEventUID(t *testing.T) {
	start := mustTime("2026-03-07T09:00:00-08:00")
	if got, want := EventUID(42, 7, start), "shift-42-7-20260307T170000Z@klaxon"; got != want {
		t.Fatalf("EventUID = %q, want %q", got, want)
	}
	if EventUID(42, 7, start) != EventUID(42, 7, start.In(time.UTC)) {
		t.Fatal("the UID depends on the zone the start is in")
	}
}
