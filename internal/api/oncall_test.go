package api_test

import (
	"fmt"
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

// The on-call tests pin schedules, overrides, escalation policies, "who is
// on call" and the calendar feeds through HTTP, on both stores. The
// server's clock is fixed, so that feeds, which show the time around "now",
// are reproducible.

func TestOnCallSQLite(t *testing.T)   { t.Parallel(); testOnCall(t, storetest.OpenSQLite) }
func TestOnCallPostgres(t *testing.T) { t.Parallel(); testOnCall(t, storetest.OpenPostgres) }

// fixedClock is a clock that does not move.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// oncallNow is the servers' "now": a Tuesday, after the 2026 spring-forward
// in America/Los_Angeles (Sunday 2026-03-08).
var oncallNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func oncallEnv(t *testing.T, open storetest.Opener) *env {
	return newEnv(t, open, store.Options{}, api.Config{Clock: fixedClock{oncallNow}})
}

// oncallFixture is three people, a team of two and a daily schedule in Los
// Angeles that hands off at 09:00 local time, from Thursday 2026-03-05.
type oncallFixture struct {
	ann, bob, cat string
	team          string
	primary       string // the schedule; ann and bob take turns
}

func newOnCallFixture(t *testing.T, e *env) oncallFixture {
	var f oncallFixture
	f.ann = e.createUser(t, "Ann Onn", "ann@example.com", klaxon.RoleResponder)
	f.bob = e.createUser(t, "Bob Call", "bob@example.com", klaxon.RoleResponder)
	f.cat = e.createUser(t, "Cat Pager", "cat@example.com", klaxon.RoleResponder)
	f.team = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/teams", map[string]any{"name": "Payments team",
		"members": []any{map[string]any{"user_id": f.bob}, map[string]any{"user_id": f.cat}}}), "id")
	f.primary = str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{
		"name": "Payments primary", "time_zone": "America/Los_Angeles",
		"layers": []any{map[string]any{"name": "daily", "start": "2026-03-05T09:00",
			"rotation": map[string]any{"unit": "day", "every": 1}, "users": []string{f.ann, f.bob}}},
	}), "id")
	return f
}

func testOnCall(t *testing.T, open storetest.Opener) {
	e := oncallEnv(t, open)
	f := newOnCallFixture(t, e)
	t.Run("ScheduleContract", func(t *testing.T) { oncallScheduleContract(t, e, f) })
	t.Run("ShiftsAndGapsAcrossDST", func(t *testing.T) { oncallShiftsAcrossDST(t, e, f) })
	t.Run("OnCallAtAndOverrides", func(t *testing.T) { oncallAtAndOverrides(t, e, f) })
	t.Run("PolicyContract", func(t *testing.T) { oncallPolicyContract(t, e, f) })
	t.Run("WhoIsOnCall", func(t *testing.T) { oncallEverywhere(t, e, f) })
	t.Run("ServicePolicy", func(t *testing.T) { oncallServicePolicy(t, e, f) })
	t.Run("ScheduleFeed", func(t *testing.T) { oncallScheduleFeed(t, e, f) })
	t.Run("UserFeed", func(t *testing.T) { oncallUserFeed(t, e, f) })
}

// rfc3339 is how the API writes instants.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// at is an instant in UTC, written shortly: at("03-08T16:00") is 2026-03-08T16:00:00Z.
func at(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", "2026-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

func oncallScheduleContract(t *testing.T, e *env, f oncallFixture) {
	body := map[string]any{
		"name": "Business hours", "time_zone": "Europe/London",
		"layers": []any{map[string]any{
			"name": "weekdays", "start": "2026-03-07T09:00",
			"rotation":     map[string]any{"unit": "day", "every": 1},
			"users":        []string{f.cat, f.ann, f.cat},
			"restrictions": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "09:00", "to": "17:00"}},
		}},
	}
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/schedules", body)
	conforms(t, e, "Schedule", m)
	id := str(t, m, "id")
	if !digits.MatchString(id) {
		t.Errorf("schedule id %q is not a decimal id string", id)
	}
	if got, want := keysOf(m), []string{"created_at", "description", "ical_url", "id", "layers", "name", "time_zone", "updated_at"}; !slices.Equal(got, want) {
		t.Errorf("schedule keys %v, want %v", got, want)
	}
	if m["name"] != "Business hours" || m["description"] != "" || m["time_zone"] != "Europe/London" {
		t.Errorf("created schedule %v", m)
	}
	isTime(t, "created_at", m["created_at"])
	isTime(t, "updated_at", m["updated_at"])
	layers := list(t, m, "layers")
	if len(layers) != 1 {
		t.Fatalf("layers %v", m["layers"])
	}
	if got, want := keysOf(layers[0]), []string{"name", "restrictions", "rotation", "start", "users"}; !slices.Equal(got, want) {
		t.Errorf("layer keys %v, want %v", got, want)
	}
	// The layer comes back as written: ids as strings, repeats kept.
	wantLayer := fmt.Sprint(body["layers"].([]any)[0])
	if got := fmt.Sprint(layers[0]); got != wantLayer || !strings.Contains(got, "users:["+f.cat+" "+f.ann+" "+f.cat+"]") {
		t.Errorf("layer %s, want %s", got, wantLayer)
	}
	if got, want := fmt.Sprint(layers[0]["rotation"]), "map[every:1 unit:day]"; got != want {
		t.Errorf("rotation %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(layers[0]["restrictions"]), "[map[days:[mon tue wed thu fri] from:09:00 to:17:00]]"; got != want {
		t.Errorf("restrictions %s, want %s", got, want)
	}

	// ical_url is absolute, on the host the request came to.
	icalURL := str(t, m, "ical_url")
	u, err := url.Parse(icalURL)
	srv, _ := url.Parse(e.srv.URL)
	if err != nil || !u.IsAbs() || u.Scheme != "http" || u.Host != srv.Host ||
		!strings.HasPrefix(u.Path, "/ical/schedules/"+id+"/") || !strings.HasSuffix(u.Path, ".ics") {
		t.Errorf("ical_url %q is not an absolute feed URL on %s", icalURL, e.srv.URL)
	}

	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+id, nil); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET one = %v, want what POST answered %v", got, m)
	}
	all := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/schedules", nil), "schedules")
	if got := ids(t, all); !slices.Equal(got, []string{id, f.primary}) || fmt.Sprint(all[0]) != fmt.Sprint(m) {
		t.Errorf("schedules %v", all)
	}
	// Paging.
	page := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules?limit=1", nil)
	conforms(t, e, "ScheduleList", page)
	if got := ids(t, list(t, page, "schedules")); !slices.Equal(got, []string{id}) || page["next_cursor"] != id {
		t.Errorf("first page %v", page)
	}
	page = e.ok(t, http.StatusOK, "GET", "/api/v1/schedules?limit=1&cursor="+id, nil)
	if got := ids(t, list(t, page, "schedules")); !slices.Equal(got, []string{f.primary}) {
		t.Errorf("second page %v", page)
	}

	// PATCH: what is named changes; layers, when given, replace all layers.
	p := e.ok(t, http.StatusOK, "PATCH", "/api/v1/schedules/"+id, map[string]any{"description": "office hours", "time_zone": "Europe/Dublin"})
	if p["description"] != "office hours" || p["time_zone"] != "Europe/Dublin" || p["name"] != "Business hours" ||
		fmt.Sprint(p["layers"]) != fmt.Sprint(m["layers"]) || p["ical_url"] != icalURL || p["created_at"] != m["created_at"] {
		t.Errorf("patched %v", p)
	}
	newLayers := []any{
		map[string]any{"name": "base", "start": "2026-03-07T00:00", "rotation": map[string]any{"unit": "week", "every": 2}, "users": []string{f.bob}},
		map[string]any{"name": "top", "start": "2026-03-07T08:00:00", "rotation": map[string]any{"unit": "hour", "every": 8}, "users": []string{f.ann, f.cat},
			"restrictions": []any{map[string]any{"from": "22:00", "to": "06:00"}}},
	}
	p = e.ok(t, http.StatusOK, "PATCH", "/api/v1/schedules/"+id, map[string]any{"layers": newLayers})
	conforms(t, e, "Schedule", p)
	if got := list(t, p, "layers"); len(got) != 2 || got[0]["name"] != "base" || got[1]["start"] != "2026-03-07T08:00:00" ||
		fmt.Sprint(got[1]["restrictions"]) != "[map[days:[] from:22:00 to:06:00]]" || fmt.Sprint(got[0]["restrictions"]) != "[]" {
		t.Errorf("replaced layers %v", p["layers"])
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+id, nil); fmt.Sprint(got) != fmt.Sprint(p) {
		t.Errorf("GET after PATCH = %v, want %v", got, p)
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/schedules/"+id, e.owner, map[string]any{"name": "Payments primary"}), http.StatusConflict, klaxon.ECONFLICT, "name")
	wantError(t, e.call(t, "POST", "/api/v1/schedules", e.owner, body), http.StatusConflict, klaxon.ECONFLICT, "name")
}

// shifts asks for the shifts of a schedule over [from, to) and returns
// them as "user start end" lines.
func shiftsOf(t *testing.T, e *env, schedule string, from, to time.Time) []string {
	t.Helper()
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+schedule+"/shifts?from="+rfc3339(from)+"&to="+rfc3339(to), nil)
	conforms(t, e, "ShiftList", m)
	if got, want := keysOf(m), []string{"from", "schedule_id", "shifts", "to"}; !slices.Equal(got, want) {
		t.Errorf("shifts answer keys %v, want %v", got, want)
	}
	if m["schedule_id"] != schedule || m["from"] != rfc3339(from) || m["to"] != rfc3339(to) {
		t.Errorf("shifts answer %v", m)
	}
	var out []string
	for _, sh := range list(t, m, "shifts") {
		if got := keysOf(sh); !slices.Equal(got, []string{"end", "start", "user_id"}) {
			t.Errorf("shift keys %v", got)
		}
		isTime(t, "start", sh["start"])
		isTime(t, "end", sh["end"])
		out = append(out, fmt.Sprintf("%s %s %s", str(t, sh, "user_id"), sh["start"], sh["end"]))
	}
	return out
}

func gapsOf(t *testing.T, e *env, schedule string, from, to time.Time) []string {
	t.Helper()
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+schedule+"/gaps?from="+rfc3339(from)+"&to="+rfc3339(to), nil)
	conforms(t, e, "GapList", m)
	if got, want := keysOf(m), []string{"from", "gaps", "schedule_id", "to"}; !slices.Equal(got, want) {
		t.Errorf("gaps answer keys %v, want %v", got, want)
	}
	var out []string
	for _, g := range list(t, m, "gaps") {
		if got := keysOf(g); !slices.Equal(got, []string{"end", "start"}) {
			t.Errorf("gap keys %v", got)
		}
		out = append(out, fmt.Sprintf("%s %s", g["start"], g["end"]))
	}
	return out
}

func oncallShiftsAcrossDST(t *testing.T, e *env, f oncallFixture) {
	// A daily 09:00 hand-off in Los Angeles stays at 09:00 local time
	// across the spring-forward of Sunday 2026-03-08: 17:00Z before it,
	// 16:00Z from that day on.
	from, to := at("03-05T00:00"), at("03-12T00:00")
	want := []string{
		f.ann + " 2026-03-05T17:00:00Z 2026-03-06T17:00:00Z",
		f.bob + " 2026-03-06T17:00:00Z 2026-03-07T17:00:00Z",
		f.ann + " 2026-03-07T17:00:00Z 2026-03-08T16:00:00Z", // 23 hours
		f.bob + " 2026-03-08T16:00:00Z 2026-03-09T16:00:00Z",
		f.ann + " 2026-03-09T16:00:00Z 2026-03-10T16:00:00Z",
		f.bob + " 2026-03-10T16:00:00Z 2026-03-11T16:00:00Z",
		f.ann + " 2026-03-11T16:00:00Z 2026-03-12T00:00:00Z", // cut at to
	}
	if got := shiftsOf(t, e, f.primary, from, to); !slices.Equal(got, want) {
		t.Errorf("shifts across DST:\n got %q\nwant %q", got, want)
	}
	// Before the first hand-off nobody is on call.
	if got, want := gapsOf(t, e, f.primary, from, to), []string{"2026-03-05T00:00:00Z 2026-03-05T17:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("gaps %q, want %q", got, want)
	}
	if got := gapsOf(t, e, f.primary, at("03-06T00:00"), at("03-13T00:00")); len(got) != 0 {
		t.Errorf("gaps after the start %q, want none", got)
	}
	// A range in one shift is one cut shift; offsets other than Z are read.
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+f.primary+"/shifts?from="+url.QueryEscape("2026-03-08T10:00:00-07:00")+"&to="+url.QueryEscape("2026-03-08T11:30:00-07:00"), nil)
	if got := fmt.Sprint(m["shifts"]); got != "[map[end:2026-03-08T18:30:00Z start:2026-03-08T17:00:00Z user_id:"+f.bob+"]]" {
		t.Errorf("shifts inside one shift: %s", got)
	}

	// A restricted schedule has gaps outside its windows: business hours
	// in UTC over a week, Monday to Friday.
	biz := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{
		"name": "Office", "time_zone": "UTC", "layers": []any{map[string]any{
			"name": "office", "start": "2026-03-09T00:00", "rotation": map[string]any{"unit": "week", "every": 1}, "users": []string{f.cat},
			"restrictions": []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "09:00", "to": "17:00"}},
		}},
	}), "id")
	var wantShifts, wantGaps []string
	gapStart := "2026-03-09T00:00:00Z"
	for d := 9; d <= 13; d++ {
		start, end := fmt.Sprintf("2026-03-%02dT09:00:00Z", d), fmt.Sprintf("2026-03-%02dT17:00:00Z", d)
		wantShifts = append(wantShifts, f.cat+" "+start+" "+end)
		wantGaps = append(wantGaps, gapStart+" "+start)
		gapStart = end
	}
	wantGaps = append(wantGaps, gapStart+" 2026-03-16T00:00:00Z")
	if got := shiftsOf(t, e, biz, at("03-09T00:00"), at("03-16T00:00")); !slices.Equal(got, wantShifts) {
		t.Errorf("office shifts\n got %q\nwant %q", got, wantShifts)
	}
	if got := gapsOf(t, e, biz, at("03-09T00:00"), at("03-16T00:00")); !slices.Equal(got, wantGaps) {
		t.Errorf("office gaps\n got %q\nwant %q", got, wantGaps)
	}
	// 366 days is the longest range.
	e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+biz+"/gaps?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:00Z", nil)
}

// onCall asks who is on call on a schedule at an instant, and returns their
// ids.
func onCall(t *testing.T, e *env, schedule string, when time.Time) []string {
	t.Helper()
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+schedule+"/oncall?at="+rfc3339(when), nil)
	conforms(t, e, "ScheduleOnCall", m)
	if got, want := keysOf(m), []string{"at", "schedule_id", "users"}; !slices.Equal(got, want) {
		t.Errorf("oncall answer keys %v, want %v", got, want)
	}
	if m["at"] != rfc3339(when) || m["schedule_id"] != schedule {
		t.Errorf("oncall answer %v", m)
	}
	users := list(t, m, "users")
	for _, u := range users {
		if got, want := keysOf(u), []string{"email", "id", "name", "time_zone"}; !slices.Equal(got, want) {
			t.Errorf("on-call user keys %v, want %v", got, want)
		}
	}
	return ids(t, users)
}

func oncallAtAndOverrides(t *testing.T, e *env, f oncallFixture) {
	for _, tc := range []struct {
		when time.Time
		want []string
	}{
		{at("03-05T16:59"), []string{}}, // before the first hand-off: a gap
		{at("03-05T17:00"), []string{f.ann}},
		{at("03-07T16:59"), []string{f.bob}},
		{at("03-08T15:59"), []string{f.ann}}, // 08:59 PDT
		{at("03-08T16:00"), []string{f.bob}}, // 09:00 PDT
		{at("03-08T16:30").Add(123456789), []string{f.bob}},
	} {
		if got := onCall(t, e, f.primary, tc.when); !slices.Equal(got, tc.want) {
			t.Errorf("on call at %s: %v, want %v", tc.when.Format(time.RFC3339Nano), got, tc.want)
		}
	}
	// The user object in full, and "now" by default (the fixed clock:
	// Tuesday 2026-03-10 12:00Z is Monday's shift, Ann's).
	m := e.ok(t, http.StatusOK, "GET", "/api/v1/schedules/"+f.primary+"/oncall", nil)
	if m["at"] != rfc3339(oncallNow) || fmt.Sprint(m["users"]) != "[map[email:ann@example.com id:"+f.ann+" name:Ann Onn time_zone:UTC]]" {
		t.Errorf("on call now: %v", m)
	}

	// An override puts someone over the layers; where two overlap, the one
	// created later wins. Different people may overlap.
	overrides := "/api/v1/schedules/" + f.primary + "/overrides"
	o := e.ok(t, http.StatusCreated, "POST", overrides, map[string]any{"user_id": f.cat, "start": "2026-03-08T20:00:00Z", "end": "2026-03-08T22:00:00Z"})
	conforms(t, e, "Override", o)
	if got, want := keysOf(o), []string{"created_at", "end", "id", "schedule_id", "start", "user_id"}; !slices.Equal(got, want) {
		t.Errorf("override keys %v, want %v", got, want)
	}
	if o["user_id"] != f.cat || o["schedule_id"] != f.primary || o["start"] != "2026-03-08T20:00:00Z" || o["end"] != "2026-03-08T22:00:00Z" || !digits.MatchString(str(t, o, "id")) {
		t.Errorf("created override %v", o)
	}
	isTime(t, "created_at", o["created_at"])
	// Offsets are read and answered in UTC.
	o2 := e.ok(t, http.StatusCreated, "POST", overrides, map[string]any{"user_id": f.ann, "start": "2026-03-08T13:30:00-07:00", "end": "2026-03-08T14:30:00-07:00"})
	if o2["start"] != "2026-03-08T20:30:00Z" || o2["end"] != "2026-03-08T21:30:00Z" {
		t.Errorf("override with an offset %v", o2)
	}
	for _, tc := range []struct {
		when time.Time
		want []string
	}{
		{at("03-08T19:59"), []string{f.bob}},
		{at("03-08T20:00"), []string{f.cat}},
		{at("03-08T20:30"), []string{f.ann}}, // created later: wins
		{at("03-08T21:29"), []string{f.ann}},
		{at("03-08T21:30"), []string{f.cat}},
		{at("03-08T22:00"), []string{f.bob}}, // overrides end exclusive
	} {
		if got := onCall(t, e, f.primary, tc.when); !slices.Equal(got, tc.want) {
			t.Errorf("on call at %s with overrides: %v, want %v", tc.when.Format(time.RFC3339), got, tc.want)
		}
	}
	// An override fills a gap too.
	e.ok(t, http.StatusCreated, "POST", overrides, map[string]any{"user_id": f.cat, "start": "2026-03-05T12:00:00Z", "end": "2026-03-05T13:00:00Z"})
	if got := onCall(t, e, f.primary, at("03-05T12:30")); !slices.Equal(got, []string{f.cat}) {
		t.Errorf("override in a gap: %v", got)
	}
	// Shifts are cut by overrides.
	want := []string{
		f.bob + " 2026-03-08T16:00:00Z 2026-03-08T20:00:00Z",
		f.cat + " 2026-03-08T20:00:00Z 2026-03-08T20:30:00Z",
		f.ann + " 2026-03-08T20:30:00Z 2026-03-08T21:30:00Z",
		f.cat + " 2026-03-08T21:30:00Z 2026-03-08T22:00:00Z",
		f.bob + " 2026-03-08T22:00:00Z 2026-03-09T00:00:00Z",
	}
	if got := shiftsOf(t, e, f.primary, at("03-08T16:00"), at("03-09T00:00")); !slices.Equal(got, want) {
		t.Errorf("shifts with overrides\n got %q\nwant %q", got, want)
	}
	if got := gapsOf(t, e, f.primary, at("03-05T00:00"), at("03-06T00:00")); !slices.Equal(got, []string{
		"2026-03-05T00:00:00Z 2026-03-05T12:00:00Z", "2026-03-05T13:00:00Z 2026-03-05T17:00:00Z"}) {
		t.Errorf("gaps around an override: %q", got)
	}

	// The same person may not overlap themself; an override ending where
	// another starts is fine.
	r := e.call(t, "POST", overrides, e.owner, map[string]any{"user_id": f.cat, "start": "2026-03-08T21:59:00Z", "end": "2026-03-08T23:00:00Z"})
	wantError(t, r, http.StatusBadRequest, klaxon.EINVALID, "start")
	e.ok(t, http.StatusCreated, "POST", overrides, map[string]any{"user_id": f.cat, "start": "2026-03-08T22:00:00Z", "end": "2026-03-08T22:10:00Z"})

	// Overrides are listed in creation order (the order they win in),
	// optionally those overlapping a window.
	conforms(t, e, "OverrideList", e.ok(t, http.StatusOK, "GET", overrides, nil))
	all := list(t, e.ok(t, http.StatusOK, "GET", overrides, nil), "overrides")
	if len(all) != 4 || all[0]["id"] != o["id"] || all[1]["id"] != o2["id"] || fmt.Sprint(all[0]) != fmt.Sprint(o) {
		t.Errorf("overrides %v", all)
	}
	window := list(t, e.ok(t, http.StatusOK, "GET", overrides+"?from=2026-03-08T21:45:00Z&to=2026-03-08T22:05:00Z", nil), "overrides")
	if got := ids(t, window); !slices.Equal(got, []string{str(t, o, "id"), str(t, all[3], "id")}) {
		t.Errorf("overrides in a window: %v", got)
	}
}

func oncallPolicyContract(t *testing.T, e *env, f oncallFixture) {
	body := map[string]any{"name": "Checkout", "repeat": 2, "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": f.primary}}},
		map[string]any{"delay_minutes": 15, "targets": []any{map[string]any{"type": "user", "id": f.ann}, map[string]any{"type": "team", "id": f.team}}},
	}}
	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/escalation-policies", body)
	conforms(t, e, "EscalationPolicy", m)
	id := str(t, m, "id")
	if !digits.MatchString(id) {
		t.Errorf("policy id %q is not a decimal id string", id)
	}
	if got, want := keysOf(m), []string{"created_at", "description", "id", "name", "repeat", "steps", "updated_at"}; !slices.Equal(got, want) {
		t.Errorf("policy keys %v, want %v", got, want)
	}
	if m["name"] != "Checkout" || m["description"] != "" || m["repeat"] != float64(2) {
		t.Errorf("created policy %v", m)
	}
	isTime(t, "created_at", m["created_at"])
	if got, want := fmt.Sprint(m["steps"]), fmt.Sprint(body["steps"]); got != want {
		t.Errorf("steps %s, want %s", got, want)
	}
	for _, st := range list(t, m, "steps") {
		if got := keysOf(st); !slices.Equal(got, []string{"delay_minutes", "targets"}) {
			t.Errorf("step keys %v", got)
		}
		for _, tg := range list(t, st, "targets") {
			if got := keysOf(tg); !slices.Equal(got, []string{"id", "type"}) || !digits.MatchString(str(t, tg, "id")) {
				t.Errorf("target %v", tg)
			}
		}
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/escalation-policies/"+id, nil); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Errorf("GET one = %v, want %v", got, m)
	}
	// repeat may be left out: 0.
	other := e.ok(t, http.StatusCreated, "POST", "/api/v1/escalation-policies", map[string]any{"name": "Search", "steps": []any{
		map[string]any{"delay_minutes": 1, "targets": []any{map[string]any{"type": "user", "id": f.cat}}}}})
	if other["repeat"] != float64(0) {
		t.Errorf("default repeat %v", other["repeat"])
	}
	all := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/escalation-policies", nil), "escalation_policies")
	if got := ids(t, all); !slices.Equal(got, []string{str(t, other, "id"), id}) || fmt.Sprint(all[1]) != fmt.Sprint(m) {
		t.Errorf("policies %v", all)
	}
	page := e.ok(t, http.StatusOK, "GET", "/api/v1/escalation-policies?limit=1", nil)
	conforms(t, e, "EscalationPolicyList", page)
	if got := ids(t, list(t, page, "escalation_policies")); !slices.Equal(got, []string{str(t, other, "id")}) || page["next_cursor"] != other["id"] {
		t.Errorf("first page %v", page)
	}

	// PATCH: steps, when given, replace all steps.
	steps := []any{map[string]any{"delay_minutes": 30, "targets": []any{map[string]any{"type": "team", "id": f.team}}}}
	p := e.ok(t, http.StatusOK, "PATCH", "/api/v1/escalation-policies/"+str(t, other, "id"), map[string]any{"steps": steps, "repeat": 9, "description": "finds"})
	if fmt.Sprint(p["steps"]) != fmt.Sprint(steps) || p["repeat"] != float64(9) || p["description"] != "finds" || p["name"] != "Search" {
		t.Errorf("patched policy %v", p)
	}
	if got := e.ok(t, http.StatusOK, "GET", "/api/v1/escalation-policies/"+str(t, other, "id"), nil); fmt.Sprint(got) != fmt.Sprint(p) {
		t.Errorf("GET after PATCH = %v, want %v", got, p)
	}
	p = e.ok(t, http.StatusOK, "PATCH", "/api/v1/escalation-policies/"+str(t, other, "id"), map[string]any{"name": "Search v2"})
	if p["name"] != "Search v2" || fmt.Sprint(p["steps"]) != fmt.Sprint(steps) {
		t.Errorf("renamed policy %v", p)
	}
	wantError(t, e.call(t, "PATCH", "/api/v1/escalation-policies/"+id, e.owner, map[string]any{"name": "Search v2"}), http.StatusConflict, klaxon.ECONFLICT, "name")
	wantError(t, e.call(t, "POST", "/api/v1/escalation-policies", e.owner, body), http.StatusConflict, klaxon.ECONFLICT, "name")
}

func oncallEverywhere(t *testing.T, e *env, f oncallFixture) {
	// A policy whose first step is the schedule and whose second pages a
	// person and a team; and one on a schedule that is in a gap.
	p := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/escalation-policies", map[string]any{"name": "Everywhere", "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": f.primary}}},
		map[string]any{"delay_minutes": 10, "targets": []any{map[string]any{"type": "user", "id": f.ann}, map[string]any{"type": "team", "id": f.team}}},
	}}), "id")
	later := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{"name": "Not yet", "time_zone": "UTC",
		"layers": []any{map[string]any{"name": "l", "start": "2027-01-01T00:00", "rotation": map[string]any{"unit": "week", "every": 1}, "users": []string{f.cat}}}}), "id")
	q := str(t, e.ok(t, http.StatusCreated, "POST", "/api/v1/escalation-policies", map[string]any{"name": "Gap", "steps": []any{
		map[string]any{"delay_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": later}}},
	}}), "id")

	entries := func(query string) map[string][]string {
		t.Helper()
		m := e.ok(t, http.StatusOK, "GET", "/api/v1/oncall"+query, nil)
		conforms(t, e, "OnCallList", m)
		if got, want := keysOf(m), []string{"at", "oncalls"}; !slices.Equal(got, want) {
			t.Errorf("oncall answer keys %v, want %v", got, want)
		}
		byPolicy := map[string][]string{}
		for _, en := range list(t, m, "oncalls") {
			if got, want := keysOf(en), []string{"escalation_level", "escalation_policy", "schedule", "team", "user"}; !slices.Equal(got, want) {
				t.Errorf("entry keys %v, want %v", got, want)
			}
			pol, _ := en["escalation_policy"].(map[string]any)
			user, _ := en["user"].(map[string]any)
			if got := keysOf(user); !slices.Equal(got, []string{"email", "id", "name", "time_zone"}) {
				t.Errorf("entry user keys %v", got)
			}
			via := "-"
			if s, ok := en["schedule"].(map[string]any); ok {
				via = "schedule:" + str(t, s, "id") + ":" + str(t, s, "name")
			}
			if tm, ok := en["team"].(map[string]any); ok {
				if via != "-" {
					t.Errorf("entry through both a schedule and a team: %v", en)
				}
				via = "team:" + str(t, tm, "id") + ":" + str(t, tm, "name")
			}
			id := str(t, pol, "id")
			if n := byPolicy[id]; len(n) == 0 && pol["name"] == "" {
				t.Errorf("policy without name %v", pol)
			}
			byPolicy[id] = append(byPolicy[id], fmt.Sprintf("%v %s %s", en["escalation_level"], str(t, user, "id"), via))
		}
		return byPolicy
	}
	sched := "schedule:" + f.primary + ":Payments primary"
	team := "team:" + f.team + ":Payments team"
	for _, tc := range []struct {
		query string
		want  []string
	}{
		// Saturday: Bob's day on the schedule (until 17:00Z).
		{"?at=2026-03-07T16:30:00Z", []string{"1 " + f.bob + " " + sched, "2 " + f.ann + " -", "2 " + f.bob + " " + team, "2 " + f.cat + " " + team}},
		// An override on the schedule shows.
		{"?at=2026-03-08T20:15:00Z", []string{"1 " + f.cat + " " + sched, "2 " + f.ann + " -", "2 " + f.bob + " " + team, "2 " + f.cat + " " + team}},
		// Before the schedule starts, its step has nobody.
		{"?at=2026-03-05T16:00:00Z", []string{"2 " + f.ann + " -", "2 " + f.bob + " " + team, "2 " + f.cat + " " + team}},
		// Now, by the server's clock: Monday's shift, Ann's.
		{"", []string{"1 " + f.ann + " " + sched, "2 " + f.ann + " -", "2 " + f.bob + " " + team, "2 " + f.cat + " " + team}},
	} {
		got := entries(tc.query)
		if !slices.Equal(got[p], tc.want) {
			t.Errorf("oncall%s for the policy:\n got %q\nwant %q", tc.query, got[p], tc.want)
		}
		if len(got[q]) != 0 {
			t.Errorf("oncall%s: a schedule in a gap has %q", tc.query, got[q])
		}
	}
	// "at" says when; the default is now.
	if m := e.ok(t, http.StatusOK, "GET", "/api/v1/oncall", nil); m["at"] != rfc3339(oncallNow) {
		t.Errorf("oncall at %v, want now %s", m["at"], rfc3339(oncallNow))
	}
}

func oncallServicePolicy(t *testing.T, e *env, f oncallFixture) {
	policies := list(t, e.ok(t, http.StatusOK, "GET", "/api/v1/escalation-policies?limit=2", nil), "escalation_policies")
	p, q := str(t, policies[0], "id"), str(t, policies[1], "id")

	m := e.ok(t, http.StatusCreated, "POST", "/api/v1/services", map[string]any{"name": "paged", "escalation_policy_id": p})
	conforms(t, e, "Service", m)
	if m["escalation_policy_id"] != p {
		t.Errorf("created service %v", m)
	}
	if got, want := keysOf(m), []string{"ack_timeout_minutes", "created_at", "description", "escalation_policy_id", "id", "name", "state", "updated_at"}; !slices.Equal(got, want) {
		t.Errorf("service keys %v, want %v", got, want)
	}
	id := str(t, m, "id")
	// Without one, or with null, the service pages nobody: null.
	for _, body := range []map[string]any{{"name": "unpaged"}, {"name": "unpaged-null", "escalation_policy_id": nil}} {
		plain := e.ok(t, http.StatusCreated, "POST", "/api/v1/services", body)
		conforms(t, e, "Service", plain)
		if v, ok := plain["escalation_policy_id"]; !ok || v != nil {
			t.Errorf("service without a policy: %v", plain)
		}
	}
	for _, tc := range []struct {
		name string
		body string
		want any
	}{
		{"set", `{"escalation_policy_id":"` + q + `"}`, q},
		{"absent keeps it", `{"description":"takes money"}`, q},
		{"null clears it", `{"escalation_policy_id":null}`, nil},
		{"null again", `{"escalation_policy_id":null}`, nil},
		{"set again", `{"escalation_policy_id":"` + p + `","name":"paged-2"}`, p},
	} {
		pm := e.ok(t, http.StatusOK, "PATCH", "/api/v1/services/"+id, tc.body)
		g := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+id, nil)
		if v, ok := pm["escalation_policy_id"]; !ok || v != tc.want || g["escalation_policy_id"] != tc.want {
			t.Errorf("%s: PATCH answered %v, GET %v, want %v", tc.name, pm["escalation_policy_id"], g["escalation_policy_id"], tc.want)
		}
	}
	if g := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+id, nil); g["name"] != "paged-2" || g["description"] != "takes money" {
		t.Errorf("service after patches %v", g)
	}
	for _, body := range []string{`{"escalation_policy_id":"abc"}`, `{"escalation_policy_id":` + p + `}`, `{"escalation_policy_id":"99999999"}`, `{"escalation_policy_id":"0"}`} {
		wantError(t, e.call(t, "PATCH", "/api/v1/services/"+id, e.owner, body), http.StatusBadRequest, klaxon.EINVALID, "escalation_policy_id")
		wantError(t, e.call(t, "POST", "/api/v1/services", e.owner, `{"name":"never",`+body[1:]), http.StatusBadRequest, klaxon.EINVALID, "escalation_policy_id")
	}
	if g := e.ok(t, http.StatusOK, "GET", "/api/v1/services/"+id, nil); g["escalation_policy_id"] != p {
		t.Errorf("refused patches changed the policy: %v", g)
	}
}
