package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/e2e/harness"
	"github.com/klaxonhq/klaxon/internal/store/storetest"
)

// TestOnCallAsCode applies examples/klaxon.yaml to the real binary on both
// stores and checks what a team relies on: the dry run lists every change
// and changes nothing, applying creates it all, applying again changes
// nothing, a change shows as a diff, mistakes name the file, line and field,
// "klaxon oncall" answers from the applied schedules, and the schedule's
// calendar feed is served to anyone with its URL and to no one without.
func TestOnCallAsCode(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		onCallAsCode(t, startServer(t, harness.Options{DataDir: t.TempDir()}))
	})
	t.Run("postgres", func(t *testing.T) {
		onCallAsCode(t, startServer(t, harness.Options{Args: []string{"--db", storetest.PostgresURL(t)}}))
	})
}

func onCallAsCode(t *testing.T, srv *harness.Server) {
	example, err := filepath.Abs("../examples/klaxon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"KLAXON_URL=" + srv.URL, "KLAXON_TOKEN=" + srv.Token}
	mustRun := func(args ...string) string {
		t.Helper()
		r := runCLI(t, env, args...)
		if r.code != 0 {
			t.Fatalf("klaxon %v: %s", args, r)
		}
		return r.stdout
	}

	dry := mustRun("apply", "-f", example, "--dry-run")
	for _, want := range []string{`+ create user ada@example.com`, `+ create schedule "Payments primary"`,
		`+ create escalation policy "Payments"`, `+ create service "payments-api"`, `user admin@localhost`} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run does not say %q:\n%s", want, dry)
		}
	}
	if out := mustRun("schedules"); !strings.Contains(out, "No schedules") {
		t.Fatalf("the dry run changed something: klaxon schedules says\n%s", out)
	}

	applied := mustRun("apply", "-f", example)
	if !strings.Contains(applied, `+ created schedule "Payments primary"`) || !strings.Contains(applied, "shown only now") {
		t.Errorf("apply did not report its creations and the new integration keys:\n%s", applied)
	}
	if again := mustRun("apply", "-f", example); !strings.HasPrefix(again, "no changes\n") {
		t.Errorf("applying the same file twice changed something:\n%s", again)
	}
	if again := mustRun("apply", "-f", example, "--dry-run"); !strings.HasPrefix(again, "no changes\n") {
		t.Errorf("dry run after apply is not \"no changes\":\n%s", again)
	}

	changed := writeVariant(t, example, "repeat: 2", "repeat: 3")
	diff := mustRun("apply", "-f", changed, "--dry-run")
	if !strings.Contains(diff, `~ update escalation policy "Payments"`) || !strings.Contains(diff, `repeat: "2" -> "3"`) {
		t.Errorf("dry run of a changed file does not show the change:\n%s", diff)
	}

	bad := writeVariant(t, example, "rotation: {unit: day, every: 1}", "rotation: {unit: fortnight, every: 1}")
	r := runCLI(t, env, "apply", "-f", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.yaml:") || !strings.Contains(r.stderr, "schedules[0].layers[1].rotation.unit") {
		t.Errorf("a bad rotation unit is not reported with file, line and field: %s", r)
	}

	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"oncall", "--at", "yesterday"}, 2, "--at must be an RFC 3339 time"},
		{[]string{"oncall", "--schedule", "No such schedule"}, 1, `no schedule named "No such schedule"`},
		{[]string{"apply"}, 2, "apply needs -f"},
		{[]string{"apply", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, 1, "missing.yaml"},
	} {
		if r := runCLI(t, env, bad.args...); r.code != bad.code || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("klaxon %q: want exit %d and %q, got %s", bad.args, bad.code, bad.want, r)
		}
	}

	// 2026-11-24 is a Tuesday. At 10:00 London time the business-hours
	// layer (daily, Alan then Ada from Monday 2026-03-02) has Ada; at 20:00
	// only the weekly layer has someone: week 38 of the rotation, Alan.
	if out := mustRun("oncall", "--schedule", "Payments primary", "--at", "2026-11-24T10:00:00Z"); !strings.Contains(out, "Ada Lovelace") {
		t.Errorf("on call at 10:00 London on a Tuesday should be Ada:\n%s", out)
	}
	if out := mustRun("oncall", "--schedule", "Payments primary", "--at", "2026-11-24T20:00:00Z"); !strings.Contains(out, "Alan Turing") {
		t.Errorf("on call at 20:00 London on a Tuesday should be Alan:\n%s", out)
	}
	all := mustRun("oncall", "--at", "2026-11-24T10:00:00Z")
	for _, want := range []string{"Payments  1      Ada Lovelace", "team Payments", "schedule Payments secondary"} {
		if !strings.Contains(all, want) {
			t.Errorf("klaxon oncall does not show %q:\n%s", want, all)
		}
	}

	// A person a schedule rotates through, whom no alert could reach, is
	// flagged on the person.
	ctx := context.Background()
	var nobody struct {
		ID       string   `json:"id"`
		Warnings []string `json:"warnings"`
	}
	if err := srv.Do(ctx, "POST", "/api/v1/users", map[string]any{"name": "Nobody Reachable", "email": "nobody@example.com", "role": "responder"}, &nobody); err != nil {
		t.Fatal(err)
	}
	layer := map[string]any{"name": "L", "start": "2026-03-02T09:00", "rotation": map[string]any{"unit": "day", "every": 1}, "users": []string{nobody.ID}}
	if err := srv.Do(ctx, "POST", "/api/v1/schedules", map[string]any{"name": "Unreachable", "time_zone": "UTC", "layers": []any{layer}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.Do(ctx, "GET", "/api/v1/users/"+nobody.ID, nil, &nobody); err != nil {
		t.Fatal(err)
	}
	if len(nobody.Warnings) == 0 || !strings.HasPrefix(nobody.Warnings[0], "on a schedule but has no notification rules") {
		t.Errorf("a scheduled person with no notification rules is not warned about: %q", nobody.Warnings)
	}

	var sched struct {
		Schedules []struct {
			Name    string `json:"name"`
			ICalURL string `json:"ical_url"`
		} `json:"schedules"`
	}
	if err := srv.Do(ctx, "GET", "/api/v1/schedules", nil, &sched); err != nil || len(sched.Schedules) != 3 {
		t.Fatalf("list schedules: %v %+v", err, sched)
	}
	feed := sched.Schedules[1].ICalURL // newest first: [0] is "Unreachable"
	resp, err := http.Get(feed)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") ||
		!strings.HasPrefix(string(body), "BEGIN:VCALENDAR\r\n") || !strings.Contains(string(body), "BEGIN:VEVENT\r\n") {
		t.Errorf("calendar feed %s: %d %s\n%.300s", feed, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	forged := feed[:len(feed)-len("0.ics")] + "1.ics"
	if forged == feed {
		forged = feed[:len(feed)-len("0.ics")] + "2.ics"
	}
	if resp, err := http.Get(forged); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a feed URL with a wrong token was not refused: %v %v", resp.StatusCode, err)
	}
}

// writeVariant writes a copy of the file at path with old replaced by new,
// as bad.yaml or changed.yaml in a temp dir.
func writeVariant(t *testing.T, path, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	name := "changed.yaml"
	if strings.Contains(new, "fortnight") {
		name = "bad.yaml"
	}
	out := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(out, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
