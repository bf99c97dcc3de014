package apply

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseExample(t *testing.T) {
	doc, err := Load("../../examples/klaxon.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.validate(); err != nil {
		t.Fatal(err)
	}
	if len(doc.Users) != 4 || len(doc.Teams) != 1 || len(doc.Schedules) != 2 || len(doc.EscalationPolicies) != 1 || len(doc.Services) != 2 {
		t.Fatalf("unexpected counts: %d users, %d teams, %d schedules, %d policies, %d services",
			len(doc.Users), len(doc.Teams), len(doc.Schedules), len(doc.EscalationPolicies), len(doc.Services))
	}
	if got := doc.Users[0].ContactMethods[1].Address; got != "+447700900123" {
		t.Errorf("a quoted phone number should stay text, got %q", got)
	}
}

// TestParseErrors: every mistake names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // substring of the error: "file:line: field: …"
	}{
		{"not yaml", "users: [", "f.yaml: "},
		{"top level is a list", "- a\n- b\n", "f.yaml:1: must be a mapping"},
		{"unknown top-level key", "people: []\n", "f.yaml:1: people: is not a known field"},
		{"unknown nested key", "users:\n  - name: A\n    email: a@example.com\n    tz: UTC\n", "f.yaml:4: users[0].tz: is not a known field"},
		{"repeated key", "users:\n  - name: A\n    name: B\n", "f.yaml:3: users[0].name: appears more than once"},
		{"list where a mapping is wanted", "users:\n  - [a, b]\n", "f.yaml:2: users[0]: must be a mapping"},
		{"mapping where a list is wanted", "users:\n  name: A\n", "f.yaml:2: users: must be a list"},
		{"text where a number is wanted", "schedules:\n  - name: S\n    layers:\n      - rotation: {unit: day, every: often}\n", "f.yaml:4: schedules[0].layers[0].rotation.every: must be a whole number"},
		{"list where text is wanted", "teams:\n  - name: [a]\n", "f.yaml:2: teams[0].name: must be a single value"},
		{"null where text is wanted", "teams:\n  - name: ~\n", "f.yaml:2: teams[0].name: must be a single value"},
		{"alias", "teams:\n  - &t {name: A}\n  - *t\n", "f.yaml:3: teams[1]: aliases"},
		{"float where a number is wanted", "escalation_policies:\n  - name: P\n    repeat: 1.5\n", "f.yaml:3: escalation_policies[0].repeat: must be a whole number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc Document
			err := Parse("f.yaml", []byte(tc.yaml), &doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tc.yaml, err, tc.want)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.File != "f.yaml" {
				t.Errorf("error %v does not name the file", err)
			}
		})
	}
}

// TestValidateErrors: mistakes found without the server point at the line
// of the field.
func TestValidateErrors(t *testing.T) {
	const user = "users:\n  - name: Ada\n    email: ada@example.com\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"user without email", "users:\n  - name: Ada\n", "f.yaml:2: users[0].email: is required"},
		{"bad time zone", user + "    time_zone: Mars/Olympus\n", "f.yaml:4: users[0].time_zone:"},
		{"bad role", user + "    role: boss\n", "f.yaml:4: users[0].role:"},
		{"bad phone", user + "    contact_methods:\n      - type: sms\n        address: \"12345\"\n", "f.yaml:6: users[0].contact_methods[0].address: must be an E.164"},
		{"rule names no contact method", user + "    notification_rules:\n      - contact_method: pager\n", "f.yaml:5: users[0].notification_rules[0].contact_method:"},
		{"bad urgency", user + "    contact_methods:\n      - {type: email, address: ada@example.com}\n    notification_rules:\n      - {contact_method: email, urgency: urgent}\n", "users[0].notification_rules[0].urgency: must be high or low"},
		{"schedule without layers", "schedules:\n  - name: S\n    time_zone: UTC\n", "f.yaml:2: schedules[0].layers"},
		{"unknown time zone", "schedules:\n  - name: S\n    time_zone: Europe/Lundon\n    layers:\n      - {name: L, start: \"2026-03-02T09:00\", rotation: {unit: day, every: 1}, users: [a@example.com]}\n", "f.yaml:3: schedules[0].time_zone"},
		{"empty rotation users", "schedules:\n  - name: S\n    time_zone: UTC\n    layers:\n      - name: L\n        start: \"2026-03-02T09:00\"\n        rotation: {unit: day, every: 1}\n        users: []\n", "f.yaml:8: schedules[0].layers[0].users"},
		{"policy without steps", "escalation_policies:\n  - name: P\n", "f.yaml:2: escalation_policies[0].steps"},
		{"target with two kinds", "escalation_policies:\n  - name: P\n    steps:\n      - delay_minutes: 5\n        targets:\n          - {user: a@example.com, team: T}\n", "f.yaml:6: escalation_policies[0].steps[0].targets[0]: must name exactly one"},
		{"integration kind", "services:\n  - name: S\n    integrations:\n      - {name: i, kind: smoke-signal}\n", "f.yaml:4: services[0].integrations[0].kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc Document
			if err := Parse("f.yaml", []byte(tc.yaml), &doc); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err := doc.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadDirectoryAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "teams:\n  - name: Payments\n")
	write("b.yml", "teams:\n  - name: Search\n---\nservices:\n  - name: api\n")
	write("notes.txt", "not yaml at all: [")
	doc, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Teams) != 2 || len(doc.Services) != 1 {
		t.Fatalf("loaded %d teams and %d services from the directory", len(doc.Teams), len(doc.Services))
	}
	write("c.yaml", "\n\nteams:\n  - name: Payments\n")
	_, err = Load(dir)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:4: teams[0]: team \"Payments\" is also declared at "+filepath.Join(dir, "a.yaml")+":2") {
		t.Fatalf("a team declared twice: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .yaml or .yml files") {
		t.Errorf("an empty directory: %v", err)
	}
}

// FuzzParse: no input makes Parse panic, and every refusal is an *Error
// naming the file.
func FuzzParse(f *testing.F) {
	example, _ := os.ReadFile("../../examples/klaxon.yaml")
	f.Add(example)
	f.Add([]byte("users:\n  - name: A\n    email: a@example.com\n"))
	f.Add([]byte("teams: [{name: a, members: [x]}]"))
	f.Add([]byte("- &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc Document
		err := Parse("fuzz.yaml", data, &doc)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.File != "fuzz.yaml" {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		_ = doc.validate()
		_ = doc.checkUnique()
	})
}
