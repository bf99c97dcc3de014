package storetest

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/store"
)

// The on-call conformance tests: schedules, overrides, who rotates where
// and calendar feeds, as stored on both databases (policies.go has the
// escalation policies).

// businessHours is a layer's restrictions written unevenly (day names in
// several forms, a window past midnight), to round-trip exactly.
func businessHours() []klaxon.Restriction {
	return []klaxon.Restriction{
		{Days: []string{"mon", "TUE", "Wednesday", "thu", "fri"}, From: "09:00", To: "17:00"},
		{From: "22:00", To: "06:00"}, // every day, past midnight
	}
}

func mustSchedule(t *testing.T, s *store.Store, name string, users ...int64) klaxon.Schedule {
	t.Helper()
	sc := klaxon.Schedule{Name: name, TimeZone: "Europe/London", Layers: []klaxon.ScheduleLayer{
		{Name: "primary", Start: "2026-03-02T09:00", RotationUnit: "week", RotationEvery: 1, UserIDs: users},
	}}
	if err := s.CreateSchedule(ctx, "test", &sc); err != nil {
		t.Fatalf("create schedule %q: %v", name, err)
	}
	return sc
}

func wantSchedule(t *testing.T, what string, got, want klaxon.Schedule) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testSchedules(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	cat := mustUser(t, s, "Cat", "cat@example.com")

	sc := klaxon.Schedule{Name: "Payments primary", Description: "who takes the pager", TimeZone: "America/Los_Angeles",
		Layers: []klaxon.ScheduleLayer{
			// A person may appear twice in a rotation, in any order.
			{Name: "weekly", Start: "2026-03-07T09:00", RotationUnit: "week", RotationEvery: 1, UserIDs: []int64{ada.ID, bob.ID, ada.ID, cat.ID}},
			{Name: "business hours", Start: "2026-03-02T09:00:00", RotationUnit: "day", RotationEvery: 2, UserIDs: []int64{cat.ID},
				Restrictions: businessHours()},
			{Name: "nights", Start: "2026-03-02T00:00", RotationUnit: "hour", RotationEvery: 12, UserIDs: []int64{bob.ID},
				Restrictions: []klaxon.Restriction{{Days: []string{"sat"}, From: "18:00", To: "24:00"}}},
		}}
	want := sc
	want.Layers = slices.Clone(sc.Layers)
	if err := s.CreateSchedule(ctx, "test", &sc); err != nil {
		t.Fatal(err)
	}
	if sc.ID == 0 || sc.CreatedAt.IsZero() || !sc.UpdatedAt.Equal(sc.CreatedAt) {
		t.Fatalf("created schedule = %+v", sc)
	}
	want.ID, want.CreatedAt, want.UpdatedAt = sc.ID, sc.CreatedAt, sc.UpdatedAt
	got, err := s.Schedule(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Layers come back exactly as written: their order, the text of their
	// times and days, repeated users, restrictions.
	wantSchedule(t, "read back", got, want)

	other := mustSchedule(t, s, "Search", bob.ID)
	list, err := s.ListSchedules(ctx, klaxon.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	wantSchedule(t, "list[0]", list[0], other)
	wantSchedule(t, "list[1]", list[1], want)
	page2, err := s.ListSchedules(ctx, klaxon.Page{Before: other.ID, Limit: 1})
	if err != nil || len(page2) != 1 {
		t.Fatalf("second page = %+v, %v", page2, err)
	}
	wantSchedule(t, "second page", page2[0], want)
	if none, err := s.ListSchedules(ctx, klaxon.Page{Before: want.ID}); err != nil || len(none) != 0 {
		t.Fatalf("page past the end = %+v, %v", none, err)
	}

	// A patch changes what it names and leaves the rest; layers, when
	// given, replace all layers.
	up, err := s.UpdateSchedule(ctx, "test", sc.ID, klaxon.SchedulePatch{Description: ptr("renamed"), TimeZone: ptr("Europe/Berlin")})
	if err != nil {
		t.Fatal(err)
	}
	want.Description, want.TimeZone, want.UpdatedAt = "renamed", "Europe/Berlin", up.UpdatedAt
	wantSchedule(t, "after patching description and zone", up, want)
	if up.UpdatedAt.Before(up.CreatedAt) {
		t.Fatalf("updated_at %v before created_at %v", up.UpdatedAt, up.CreatedAt)
	}
	newLayers := []klaxon.ScheduleLayer{{Name: "only", Start: "2026-04-01T08:30", RotationUnit: "day", RotationEvery: 1,
		UserIDs: []int64{cat.ID, cat.ID, bob.ID}, Restrictions: []klaxon.Restriction{{Days: []string{"sun"}, From: "00:00", To: "00:00"}}}}
	up, err = s.UpdateSchedule(ctx, "test", sc.ID, klaxon.SchedulePatch{Layers: &newLayers})
	if err != nil {
		t.Fatal(err)
	}
	want.Layers, want.UpdatedAt = newLayers, up.UpdatedAt
	wantSchedule(t, "after replacing layers", up, want)
	if got, _ := s.Schedule(ctx, sc.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("read after replacing layers:\n got %+v\nwant %+v", got, want)
	}
	// The other schedule's layers are untouched.
	if got, _ := s.Schedule(ctx, other.ID); !reflect.DeepEqual(got, other) {
		t.Fatalf("other schedule changed: %+v", got)
	}
	if same, err := s.UpdateSchedule(ctx, "test", sc.ID, klaxon.SchedulePatch{}); err != nil || !reflect.DeepEqual(same, want) {
		t.Fatalf("empty patch = %+v, %v", same, err)
	}

	// Names are unique.
	wantField(t, s.CreateSchedule(ctx, "test", &klaxon.Schedule{Name: "Search", TimeZone: "UTC", Layers: newLayers}), klaxon.ECONFLICT, "name")
	_, err = s.UpdateSchedule(ctx, "test", sc.ID, klaxon.SchedulePatch{Name: ptr("Search")})
	wantField(t, err, klaxon.ECONFLICT, "name")

	// Every user must exist; the error names where the reference is.
	missing := []klaxon.ScheduleLayer{newLayers[0], {Name: "second", Start: "2026-04-01T08:30", RotationUnit: "day", RotationEvery: 1,
		UserIDs: []int64{ada.ID, bob.ID, 9999}}}
	wantField(t, s.CreateSchedule(ctx, "test", &klaxon.Schedule{Name: "Ghosts", TimeZone: "UTC", Layers: missing}), klaxon.EINVALID, "layers[1].users[2]")
	_, err = s.UpdateSchedule(ctx, "test", sc.ID, klaxon.SchedulePatch{Name: ptr("Ghosts"), Layers: &missing})
	wantField(t, err, klaxon.EINVALID, "layers[1].users[2]")

	// What the schedule package refuses, the store refuses, naming the field.
	layer := func(f func(*klaxon.ScheduleLayer)) []klaxon.ScheduleLayer {
		l := klaxon.ScheduleLayer{Name: "l", Start: "2026-03-07T09:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{ada.ID}}
		f(&l)
		return []klaxon.ScheduleLayer{l}
	}
	for _, tc := range []struct {
		name  string
		sc    klaxon.Schedule
		field string
	}{
		{"no name", klaxon.Schedule{TimeZone: "UTC", Layers: layer(func(*klaxon.ScheduleLayer) {})}, "name"},
		{"no time zone", klaxon.Schedule{Name: "x", Layers: layer(func(*klaxon.ScheduleLayer) {})}, "time_zone"},
		{"unknown time zone", klaxon.Schedule{Name: "x", TimeZone: "Mars/Olympus", Layers: layer(func(*klaxon.ScheduleLayer) {})}, "time_zone"},
		{"Local", klaxon.Schedule{Name: "x", TimeZone: "Local", Layers: layer(func(*klaxon.ScheduleLayer) {})}, "time_zone"},
		{"no layers", klaxon.Schedule{Name: "x", TimeZone: "UTC"}, "layers"},
		{"no users", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) { l.UserIDs = nil })}, "layers[0].users"},
		{"every 0", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) { l.RotationEvery = 0 })}, "layers[0].rotation.every"},
		{"unknown unit", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) { l.RotationUnit = "month" })}, "layers[0].rotation.unit"},
		{"bad start", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) { l.Start = "2026-02-30T09:00" })}, "layers[0].start"},
		{"bad day", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) {
			l.Restrictions = []klaxon.Restriction{{Days: []string{"mon", "funday"}, From: "09:00", To: "17:00"}}
		})}, "layers[0].restrictions[0].days[1]"},
		{"bad time", klaxon.Schedule{Name: "x", TimeZone: "UTC", Layers: layer(func(l *klaxon.ScheduleLayer) {
			l.Restrictions = []klaxon.Restriction{{From: "9:00", To: "17:00"}}
		})}, "layers[0].restrictions[0].from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantField(t, s.CreateSchedule(ctx, "test", &tc.sc), klaxon.EINVALID, tc.field)
			patch := klaxon.SchedulePatch{Name: &tc.sc.Name, TimeZone: &tc.sc.TimeZone, Layers: &tc.sc.Layers}
			_, err := s.UpdateSchedule(ctx, "test", other.ID, patch)
			wantField(t, err, klaxon.EINVALID, tc.field)
		})
	}
	if got, _ := s.Schedule(ctx, sc.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("refused patches changed the schedule: %+v", got)
	}
	if got, _ := s.Schedule(ctx, other.ID); !reflect.DeepEqual(got, other) {
		t.Fatalf("refused patches changed the other schedule: %+v", got)
	}
	if all, _ := s.ListSchedules(ctx, klaxon.Page{}); len(all) != 2 {
		t.Fatalf("refused creates stored schedules: %+v", all)
	}
	_, err = s.Schedule(ctx, 9999)
	wantCode(t, err, klaxon.ENOTFOUND)
	_, err = s.UpdateSchedule(ctx, "test", 9999, klaxon.SchedulePatch{Name: ptr("x")})
	wantCode(t, err, klaxon.ENOTFOUND)
}

func testOverrides(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	sc := mustSchedule(t, s, "Primary", ada.ID)
	other := mustSchedule(t, s, "Secondary", ada.ID)
	t0 := time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)
	override := func(scheduleID, userID int64, from, to time.Duration) (klaxon.Override, error) {
		o := klaxon.Override{ScheduleID: scheduleID, UserID: userID, Start: t0.Add(from), End: t0.Add(to)}
		return o, s.CreateOverride(ctx, "test", &o)
	}
	mustOverride := func(scheduleID, userID int64, from, to time.Duration) klaxon.Override {
		t.Helper()
		o, err := override(scheduleID, userID, from, to)
		if err != nil {
			t.Fatalf("override %v–%v: %v", from, to, err)
		}
		return o
	}

	// A later override is created after an earlier-starting one; creation
	// order, not start order, is the order they come back in.
	late := mustOverride(sc.ID, ada.ID, 10*time.Hour, 12*time.Hour)
	if late.ID == 0 || late.CreatedAt.IsZero() || !late.Start.Equal(t0.Add(10*time.Hour)) || late.Start.Location() != time.UTC {
		t.Fatalf("created override = %+v", late)
	}
	early := mustOverride(sc.ID, ada.ID, 0, 2*time.Hour)
	// Another person may overlap; so may the same person on another
	// schedule; one override may end where the next begins.
	bobs := mustOverride(sc.ID, bob.ID, time.Hour, 11*time.Hour)
	mustOverride(other.ID, ada.ID, 0, 24*time.Hour)
	touching := mustOverride(sc.ID, ada.ID, 2*time.Hour, 3*time.Hour)

	// The same person may not overlap themself on one schedule.
	for _, tc := range []struct{ from, to time.Duration }{
		{time.Hour, 90 * time.Minute},                   // inside
		{-time.Hour, time.Minute},                       // across the start
		{11 * time.Hour, 13 * time.Hour},                // across the end
		{-time.Hour, 24 * time.Hour},                    // around several
		{10 * time.Hour, 12 * time.Hour},                // the same
		{3*time.Hour - time.Microsecond, 4 * time.Hour}, // by a microsecond
	} {
		_, err := override(sc.ID, ada.ID, tc.from, tc.to)
		wantField(t, err, klaxon.EINVALID, "start")
	}
	_, err := override(sc.ID, ada.ID, 5*time.Hour, 5*time.Hour)
	wantField(t, err, klaxon.EINVALID, "end")
	_, err = override(sc.ID, ada.ID, 5*time.Hour, 4*time.Hour)
	wantField(t, err, klaxon.EINVALID, "end")
	// Times are kept to the microsecond: an override shorter than one,
	// inside one, would be stored empty.
	_, err = override(sc.ID, ada.ID, 5*time.Hour+100, 5*time.Hour+900)
	wantField(t, err, klaxon.EINVALID, "end")
	// Times are kept as microseconds since 1970, where 0 means none.
	epoch := klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, Start: time.Unix(0, 0), End: t0}
	wantField(t, s.CreateOverride(ctx, "test", &epoch), klaxon.EINVALID, "start")
	epoch.Start = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)
	wantField(t, s.CreateOverride(ctx, "test", &epoch), klaxon.EINVALID, "start")
	wantField(t, s.CreateOverride(ctx, "test", &klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, End: t0}), klaxon.EINVALID, "start")
	wantField(t, s.CreateOverride(ctx, "test", &klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, Start: t0}), klaxon.EINVALID, "end")
	_, err = override(sc.ID, 9999, 50*time.Hour, 51*time.Hour)
	wantField(t, err, klaxon.EINVALID, "user_id")
	_, err = override(9999, ada.ID, 50*time.Hour, 51*time.Hour)
	wantCode(t, err, klaxon.ENOTFOUND)

	ids := func(list []klaxon.Override) []int64 {
		var out []int64
		for _, o := range list {
			out = append(out, o.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []klaxon.Override
	}{
		{"everything", time.Time{}, time.Time{}, []klaxon.Override{late, early, bobs, touching}},
		{"from only", t0.Add(3 * time.Hour), time.Time{}, []klaxon.Override{late, bobs}},
		{"a window", t0.Add(90 * time.Minute), t0.Add(150 * time.Minute), []klaxon.Override{early, bobs, touching}},
		// [from, to): an override ending at from, or starting at to, is out.
		{"touching ends", t0.Add(2 * time.Hour), t0.Add(10 * time.Hour), []klaxon.Override{bobs, touching}},
		{"before all", t0.Add(-time.Hour), t0, nil},
		{"after all", t0.Add(12 * time.Hour), t0.Add(13 * time.Hour), nil},
	} {
		got, err := s.Overrides(ctx, sc.ID, tc.from, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(ids(got), ids(tc.want)) {
			t.Fatalf("%s: overrides %v, want %v", tc.name, ids(got), ids(tc.want))
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: read back %+v, want %+v", tc.name, got[i], tc.want[i])
			}
		}
	}
	if got, _ := s.Overrides(ctx, 9999, time.Time{}, time.Time{}); len(got) != 0 {
		t.Fatalf("overrides of an unknown schedule: %+v", got)
	}
}

// testOverridesConcurrent creates the same person's overlapping overrides
// at once, in a few rounds: exactly one of each round may win.
func testOverridesConcurrent(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	sc := mustSchedule(t, s, "Primary", ada.ID)
	const rounds, n = 5, 8
	for round := range rounds {
		t0 := time.Date(2026, 3, 7+round, 9, 0, 0, 0, time.UTC)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				o := klaxon.Override{ScheduleID: sc.ID, UserID: ada.ID, Start: t0.Add(time.Duration(i) * time.Minute), End: t0.Add(time.Hour)}
				errs[i] = s.CreateOverride(ctx, "test", &o)
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch klaxon.ErrorCodeOf(err) {
			case "":
				created++
			case klaxon.EINVALID:
			default:
				t.Fatalf("concurrent override: %v", err)
			}
		}
		if got, _ := s.Overrides(ctx, sc.ID, t0, t0.Add(time.Hour)); created != 1 || len(got) != 1 {
			t.Fatalf("round %d: %d of %d overlapping overrides were created; stored %+v", round, created, n, got)
		}
	}
}

func testFeeds(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	sc := mustSchedule(t, s, "Primary", ada.ID)

	key, err := s.FeedKey(ctx)
	if err != nil || len(key) < 32 {
		t.Fatalf("feed key = %x, %v", key, err)
	}
	// Concurrent first uses agree, and the key never changes.
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Go(func() { keys[i], _ = s.FeedKey(ctx) })
	}
	wg.Wait()
	for _, k := range keys {
		if string(k) != string(key) {
			t.Fatalf("feed key changed: %x then %x", key, k)
		}
	}
	fresh := open(t, store.Options{})
	if other, err := fresh.FeedKey(ctx); err != nil || string(other) == string(key) {
		t.Fatalf("two stores share feed key %x (%v)", key, err)
	}

	for _, f := range []struct {
		kind klaxon.FeedKind
		id   int64
	}{{klaxon.FeedSchedule, sc.ID}, {klaxon.FeedUser, ada.ID}} {
		gen, err := s.FeedGeneration(ctx, f.kind, f.id)
		if err != nil || gen != 0 {
			t.Fatalf("%s feed generation = %d, %v", f.kind, gen, err)
		}
		for want := int64(1); want <= 2; want++ {
			got, err := s.RotateFeed(ctx, "test", f.kind, f.id)
			if err != nil || got != want {
				t.Fatalf("%s rotate = %d, %v; want %d", f.kind, got, err, want)
			}
			if now, _ := s.FeedGeneration(ctx, f.kind, f.id); now != want {
				t.Fatalf("%s generation after rotating = %d, want %d", f.kind, now, want)
			}
		}
		_, err = s.FeedGeneration(ctx, f.kind, 9999)
		wantCode(t, err, klaxon.ENOTFOUND)
		_, err = s.RotateFeed(ctx, "test", f.kind, 9999)
		wantCode(t, err, klaxon.ENOTFOUND)
	}
	// Rotating one feed leaves the others, and the key.
	bob := mustUser(t, s, "Bob", "bob@example.com")
	other := mustSchedule(t, s, "Secondary", bob.ID)
	if gen, _ := s.FeedGeneration(ctx, klaxon.FeedUser, bob.ID); gen != 0 {
		t.Fatalf("bob's feed generation %d", gen)
	}
	if gen, _ := s.FeedGeneration(ctx, klaxon.FeedSchedule, other.ID); gen != 0 {
		t.Fatalf("other schedule's feed generation %d", gen)
	}
	if again, _ := s.FeedKey(ctx); string(again) != string(key) {
		t.Fatal("rotating a feed changed the key")
	}
}

func testSchedulesOfUser(t *testing.T, open Opener) {
	s := open(t, store.Options{})
	ada := mustUser(t, s, "Ada", "ada@example.com")
	bob := mustUser(t, s, "Bob", "bob@example.com")
	cat := mustUser(t, s, "Cat", "cat@example.com")
	a := mustSchedule(t, s, "A", ada.ID, bob.ID)
	b := mustSchedule(t, s, "B", bob.ID)
	c := mustSchedule(t, s, "C", bob.ID, bob.ID)
	t0 := time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC)
	for _, o := range []klaxon.Override{
		{ScheduleID: b.ID, UserID: ada.ID, Start: t0, End: t0.Add(time.Hour)},                        // ends at t0+1h
		{ScheduleID: c.ID, UserID: ada.ID, Start: t0.Add(-time.Hour), End: t0},                       // ended at t0
		{ScheduleID: a.ID, UserID: ada.ID, Start: t0.Add(2 * time.Hour), End: t0.Add(3 * time.Hour)}, // also in A's layers
	} {
		if err := s.CreateOverride(ctx, "test", &o); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		user  int64
		since time.Time
		want  []int64
	}{
		{"layers and current overrides", ada.ID, t0, []int64{a.ID, b.ID}},
		{"an override not ended", ada.ID, t0.Add(-time.Minute), []int64{a.ID, b.ID, c.ID}},
		{"overrides all ended", ada.ID, t0.Add(time.Hour), []int64{a.ID}},
		{"each schedule once", bob.ID, t0, []int64{a.ID, b.ID, c.ID}},
		{"none", cat.ID, t0, nil},
		{"no such user", 9999, t0, nil},
	} {
		got, err := s.SchedulesOfUser(ctx, tc.user, tc.since)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// Replacing a schedule's layers takes people off it.
	layers := []klaxon.ScheduleLayer{{Name: "l", Start: "2026-03-07T09:00", RotationUnit: "day", RotationEvery: 1, UserIDs: []int64{cat.ID}}}
	if _, err := s.UpdateSchedule(ctx, "test", c.ID, klaxon.SchedulePatch{Layers: &layers}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SchedulesOfUser(ctx, bob.ID, t0); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("bob after leaving C: %v", got)
	}
	if got, _ := s.SchedulesOfUser(ctx, cat.ID, t0); !slices.Equal(got, []int64{c.ID}) {
		t.Fatalf("cat after joining C: %v", got)
	}
}
