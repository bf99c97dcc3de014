package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/api"
	"github.com/klaxonhq/klaxon/internal/store"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// The calendar feed tests: what a calendar application fetching a feed URL
// gets, and how the URLs are guarded and rotated.

// feed fetches a calendar feed by the path of its URL, without a token.
func (e *env) feed(t *testing.T, icalURL string) resp {
	t.Helper()
	u, err := url.Parse(icalURL)
	if err != nil {
		t.Fatalf("feed URL %q: %v", icalURL, err)
	}
	return e.send(t, request{method: "GET", path: u.Path})
}

// vevent is one event of a feed.
type vevent struct{ uid, start, end, summary string }

// parseICal checks that body is one iCalendar object with CRLF line
// endings and returns its events.
func parseICal(t *testing.T, r resp) (name string, events []vevent) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("feed: %s", r)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
		t.Errorf("feed Content-Type %q, want text/calendar", ct)
	}
	body := string(r.body)
	if !strings.HasPrefix(body, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(body, "END:VCALENDAR\r\n") {
		t.Errorf("feed is not one VCALENDAR: %.200q … %q", body, body[max(0, len(body)-40):])
	}
	if strings.Count(body, "\n") != strings.Count(body, "\r\n") || strings.Count(body, "\r") != strings.Count(body, "\r\n") {
		t.Errorf("feed has line endings other than CRLF")
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	for _, l := range lines {
		if len(l) > 75 {
			t.Errorf("feed line over 75 octets: %q", l)
		}
	}
	if !slices.Contains(lines, "VERSION:2.0") || !slices.Contains(lines, "PRODID:-//Klaxon//Klaxon//EN") {
		t.Errorf("feed lacks VERSION or PRODID: %q", lines[:min(len(lines), 8)])
	}
	var cur *vevent
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		switch {
		case l == "BEGIN:VEVENT":
			cur = &vevent{}
		case l == "END:VEVENT":
			events = append(events, *cur)
			cur = nil
		case k == "X-WR-CALNAME":
			name = v
		case cur != nil && k == "UID":
			cur.uid = v
		case cur != nil && k == "DTSTART":
			cur.start = v
		case cur != nil && k == "DTEND":
			cur.end = v
		case cur != nil && k == "SUMMARY":
			cur.summary = v
		case cur != nil && k == "DTSTAMP":
			if v != "20260310T120000Z" {
				t.Errorf("DTSTAMP %q, want the server's now", v)
			}
		}
	}
	if strings.Count(body, "BEGIN:VEVENT") != len(events) {
		t.Errorf("unbalanced VEVENTs")
	}
	return name, events
}

// icalTime is how a feed writes an instant.
func icalTime(t *testing.T, rfc string) string {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, rfc)
	if err != nil {
		t.Fatalf("time %q: %v", rfc, err)
	}
	return tm.UTC().Format("20060102T150405Z")
}

// feedShifts is what a feed must show: the shifts of a schedule over the
// feed's range (30 days back from the UTC midnight, 180 ahead), optionally
// only one person's.
func feedShifts(t *testing.T, e *env, schedule, user string) []map[string]any {
	t.Helper()
	from := oncallNow.Add(-30 * 24 * time.Hour).Truncate(24 * time.Hour)
	to := from.Add(210 * 24 * time.Hour)
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+schedule+"/shifts?from="+rfc3339(from)+"&to="+rfc3339(to), nil)
	var out []map[string]any
	for _, sh := range list(t, m, "shifts") {
		if user == "" || sh["user_id"] == user {
			out = append(out, sh)
		}
	}
	return out
}

func oncallScheduleFeed(t *testing.T, e *env, f oncallFixture) {
	sc := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+f.primary, nil)
	icalURL := str(t, sc, "ical_url")
	name, events := parseICal(t, e.feed(t, icalURL))
	if name != "Payments primary" {
		t.Errorf("X-WR-CALNAME %q", name)
	}
	// One event per shift, with the shift's times and person.
	shifts := feedShifts(t, e, f.primary, "")
	if len(events) != len(shifts) || len(shifts) < 150 {
		t.Fatalf("feed has %d events, the schedule %d shifts", len(events), len(shifts))
	}
	names := map[any]string{f.ann: "Ann Onn", f.bob: "Bob Call", f.cat: "Cat Pager"}
	uids := map[string]bool{}
	for i, ev := range events {
		sh := shifts[i]
		if ev.start != icalTime(t, sh["start"].(string)) || ev.end != icalTime(t, sh["end"].(string)) || ev.summary != "On call: "+names[sh["user_id"]] {
			t.Fatalf("event %d = %+v, shift %v", i, ev, sh)
		}
		if ev.uid == "" || uids[ev.uid] {
			t.Fatalf("event %d UID %q is empty or repeated", i, ev.uid)
		}
		uids[ev.uid] = true
	}
	// The 09:00 hand-off stays at 09:00 in Los Angeles: 17:00Z in winter,
	// 16:00Z in summer.
	if !slices.ContainsFunc(events, func(ev vevent) bool { return ev.start == "20260307T170000Z" && ev.end == "20260308T160000Z" }) {
		t.Errorf("no event for the short shift into the DST change")
	}
	// The same feed again is the same events: UIDs are stable.
	if _, again := parseICal(t, e.feed(t, icalURL)); !slices.Equal(again, events) {
		t.Errorf("a second fetch differs")
	}
	// HEAD works for clients that probe.
	if r := e.send(t, request{method: "HEAD", path: mustPath(t, icalURL)}); r.status != http.StatusOK {
		t.Errorf("HEAD feed: %s", r)
	}

	// A wrong token, another schedule's id, an unknown id, another kind of
	// feed: all the same 404, whatever credentials come with them.
	path := mustPath(t, icalURL)
	token := strings.TrimSuffix(path[strings.LastIndex(path, "/")+1:], ".ics")
	other := str(t, list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/schedules?limit=1000", nil), "schedules")[0], "id")
	flipped := []byte(token)
	flipped[0] ^= 1
	for _, p := range []string{
		"/ical/schedules/" + f.primary + "/" + string(flipped) + ".ics",
		"/ical/schedules/" + f.primary + "/" + strings.ToUpper(token) + ".ics",
		"/ical/schedules/" + f.primary + "/" + token[:16] + ".ics",
		"/ical/schedules/" + f.primary + "/" + token,
		"/ical/schedules/" + f.primary + "/" + token + ".ical",
		"/ical/schedules/" + f.primary + "/.ics",
		"/ical/schedules/" + other + "/" + token + ".ics",
		"/ical/schedules/99999999/" + token + ".ics",
		"/ical/schedules/abc/" + token + ".ics",
		"/ical/users/" + f.primary + "/" + token + ".ics",
	} {
		wantError(t, e.send(t, request{method: "GET", path: p}), http.StatusNotFound, klaxon.ENOTFOUND, "")
		wantError(t, e.call(t, "GET", p, e.owner, nil), http.StatusNotFound, klaxon.ENOTFOUND, "")
	}
	if r := e.send(t, request{method: "GET", path: "/ical/schedules/" + f.primary + "/" + strings.ToUpper(token) + ".ics"}); strings.Contains(string(r.body), f.primary) {
		t.Errorf("a wrong token's 404 names the schedule: %s", r)
	}

	// Rotating the feed: the old URL stops working at once, the new one
	// works, and the schedule shows it.
	rot := e.ok(t, http.StatusOK, "POST", "/api/v1/schedules/"+f.primary+"/rotate-feed", nil)
	conforms(t, e, "FeedURL", rot)
	if got := keysOf(rot); !slices.Equal(got, []string{"ical_url"}) {
		t.Errorf("rotate answer %v", rot)
	}
	newURL := str(t, rot, "ical_url")
	if newURL == icalURL || !strings.HasPrefix(newURL, e.srv.URL+"/ical/schedules/"+f.primary+"/") {
		t.Errorf("rotated URL %q (was %q)", newURL, icalURL)
	}
	wantError(t, e.feed(t, icalURL), http.StatusNotFound, klaxon.ENOTFOUND, "")
	if _, evs := parseICal(t, e.feed(t, newURL)); !slices.Equal(evs, events) {
		t.Errorf("the new URL shows other events")
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+f.primary, nil); got["ical_url"] != newURL {
		t.Errorf("schedule shows %v after rotating, want %s", got["ical_url"], newURL)
	}
	// Rotating one feed leaves the others.
	otherURL := str(t, e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+other, nil), "ical_url")
	parseICal(t, e.feed(t, otherURL))

	// With a configured public URL, feed URLs are on it.
	pub := newEnv(t, storetest.OpenSQLite, store.Options{}, api.Config{PublicURL: "https://klaxon.example.com/", Clock: fixedClock{oncallNow}})
	pu := pub.createUser(t, "P", "p@example.com", klaxon.RoleViewer)
	ps := pub.ok(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{"name": "P", "time_zone": "UTC",
		"layers": []any{map[string]any{"name": "l", "start": "2026-03-07T09:00", "rotation": map[string]any{"unit": "day", "every": 1}, "users": []string{pu}}}})
	if got := str(t, ps, "ical_url"); !strings.HasPrefix(got, "https://klaxon.example.com/ical/schedules/"+str(t, ps, "id")+"/") {
		t.Errorf("ical_url with a public URL: %q", got)
	}
	parseICal(t, pub.feed(t, str(t, ps, "ical_url")))
}

func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func oncallUserFeed(t *testing.T, e *env, f oncallFixture) {
	own := e.userToken(t, f.ann, klaxon.RoleViewer)
	feedPath := "/api/v1/users/" + f.ann + "/feed"
	r := e.call(t, "GET", feedPath, own, nil)
	if r.status != http.StatusOK {
		t.Fatalf("own feed URL: %s", r)
	}
	m := r.obj(t)
	if got := keysOf(m); !slices.Equal(got, []string{"ical_url"}) {
		t.Errorf("feed answer %v", m)
	}
	icalURL := str(t, m, "ical_url")
	if !strings.HasPrefix(icalURL, e.srv.URL+"/ical/users/"+f.ann+"/") || !strings.HasSuffix(icalURL, ".ics") {
		t.Errorf("user feed URL %q", icalURL)
	}
	if got := e.ok(t, http.StatusOK, "GET", feedPath, nil); got["ical_url"] != icalURL {
		t.Errorf("an admin sees %v, the user %s", got["ical_url"], icalURL)
	}
	// Only the person and admins see or rotate it: the URL is a credential.
	bobs := e.userToken(t, f.bob, klaxon.RoleResponder)
	wantError(t, e.call(t, "GET", feedPath, bobs, nil), http.StatusForbidden, klaxon.EFORBIDDEN, "")
	wantError(t, e.call(t, "POST", "/api/v1/users/"+f.ann+"/rotate-feed", bobs, nil), http.StatusForbidden, klaxon.EFORBIDDEN, "")

	// Ann's shifts, from every schedule she is on (her layer shifts and
	// her overrides on the primary schedule).
	name, events := parseICal(t, e.feed(t, icalURL))
	if name != "On call: Ann Onn" {
		t.Errorf("X-WR-CALNAME %q", name)
	}
	var want []vevent
	for _, sh := range feedShifts(t, e, f.primary, f.ann) {
		want = append(want, vevent{start: icalTime(t, sh["start"].(string)), end: icalTime(t, sh["end"].(string)), summary: "On call: Payments primary"})
	}
	var got []vevent
	for _, ev := range events {
		if ev.summary == "On call: Payments primary" {
			ev.uid = ""
			got = append(got, ev)
		}
	}
	if len(want) < 50 || !slices.Equal(got, want) {
		t.Errorf("ann's feed has %d events from the primary schedule, want %d", len(got), len(want))
	}
	if !slices.ContainsFunc(events, func(ev vevent) bool { return ev.start == "20260308T203000Z" && ev.end == "20260308T213000Z" }) {
		t.Errorf("ann's override is not in her feed")
	}
	// A schedule feed token does not open a user feed.
	schedulePath := mustPath(t, str(t, e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+f.primary, nil), "ical_url"))
	wantError(t, e.send(t, request{method: "GET", path: strings.Replace(schedulePath, "/ical/schedules/"+f.primary, "/ical/users/"+f.ann, 1)}), http.StatusNotFound, klaxon.ENOTFOUND, "")

	// Ann rotates her own feed.
	r = e.call(t, "POST", "/api/v1/users/"+f.ann+"/rotate-feed", own, nil)
	if r.status != http.StatusOK {
		t.Fatalf("rotate own feed: %s", r)
	}
	newURL := str(t, r.obj(t), "ical_url")
	if newURL == icalURL {
		t.Errorf("rotating kept the URL")
	}
	wantError(t, e.feed(t, icalURL), http.StatusNotFound, klaxon.ENOTFOUND, "")
	parseICal(t, e.feed(t, newURL))
	if got := e.ok(t, http.StatusOK, "GET", feedPath, nil); got["ical_url"] != newURL {
		t.Errorf("feed URL after rotating %v, want %s", got["ical_url"], newURL)
	}
	// A person on no schedule has an empty calendar.
	nobody := e.createUser(t, "Nobody", "nobody@example.com", klaxon.RoleViewer)
	if _, evs := parseICal(t, e.feed(t, str(t, e.ok(t, http.StatusOK, "GET", "/api/v1/users/"+nobody+"/feed", nil), "ical_url"))); len(evs) != 0 {
		t.Errorf("nobody's feed has %d events", len(evs))
	}

	// Every mutation above is in the audit log.
	entries := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/audit?limit=1000", nil), "entries")
	var actions []string
	for _, en := range entries {
		actions = append(actions, en["action"].(string))
	}
	for _, a := range []string{"schedule.create", "schedule.update", "schedule.override", "schedule.rotate_feed",
		"escalation_policy.create", "escalation_policy.update", "service.update", "user.rotate_feed"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit log lacks %s: %v", a, actions)
		}
	}
}
