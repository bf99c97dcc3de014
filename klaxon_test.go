package klaxon_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

func TestEventValidate(t *testing.T) {
	good := func() klaxon.Event {
		return klaxon.Event{Action: klaxon.ActionTrigger, Summary: "disk full", Severity: klaxon.SeverityCritical}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*klaxon.Event)
		field string // "" when valid
	}{
		{"trigger", func(*klaxon.Event) {}, ""},
		{"trigger without dedup key", func(e *klaxon.Event) { e.DedupKey = "" }, ""},
		{"acknowledge needs only a dedup key", func(e *klaxon.Event) { *e = klaxon.Event{Action: klaxon.ActionAcknowledge, DedupKey: "k"} }, ""},
		{"missing action", func(e *klaxon.Event) { e.Action = "" }, "action"},
		{"unknown action", func(e *klaxon.Event) { e.Action = "explode" }, "action"},
		{"resolve without dedup key", func(e *klaxon.Event) { *e = klaxon.Event{Action: klaxon.ActionResolve} }, "dedup_key"},
		{"blank summary", func(e *klaxon.Event) { e.Summary = "  " }, "summary"},
		{"summary too long", func(e *klaxon.Event) { e.Summary = strings.Repeat("é", klaxon.MaxSummaryLength+1) }, "summary"},
		{"summary at the limit", func(e *klaxon.Event) { e.Summary = strings.Repeat("é", klaxon.MaxSummaryLength) }, ""},
		{"missing severity", func(e *klaxon.Event) { e.Severity = "" }, "severity"},
		{"unknown severity", func(e *klaxon.Event) { e.Severity = "catastrophic" }, "severity"},
		{"bad severity on resolve", func(e *klaxon.Event) { *e = klaxon.Event{Action: klaxon.ActionResolve, DedupKey: "k", Severity: "x"} }, "severity"},
		{"dedup key too long", func(e *klaxon.Event) { e.DedupKey = strings.Repeat("k", klaxon.MaxDedupKeyLength+1) }, "dedup_key"},
		{"invalid UTF-8", func(e *klaxon.Event) { e.Source = "\xff" }, "source"},
		{"NUL, which PostgreSQL cannot store", func(e *klaxon.Event) { e.Class = "a\x00b" }, "class"},
		{"too many links", func(e *klaxon.Event) { e.Links = make([]klaxon.Link, klaxon.MaxLinks+1) }, "links"},
		{"link without href", func(e *klaxon.Event) { e.Links = []klaxon.Link{{Href: "https://a"}, {Text: "x"}} }, "links[1].href"},
		{"image without src", func(e *klaxon.Event) { e.Images = []klaxon.Image{{Alt: "x"}} }, "images[0].src"},
		{"NUL in link text", func(e *klaxon.Event) { e.Links = []klaxon.Link{{Href: "https://a", Text: "a\x00"}} }, "links[0].text"},
		{"invalid UTF-8 in image alt", func(e *klaxon.Event) { e.Images = []klaxon.Image{{Src: "https://i", Alt: "\xff"}} }, "images[0].alt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := good()
			tc.edit(&ev)
			err := ev.Validate(klaxon.NativeFieldNames)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			e, ok := klaxon.AsError(err)
			if !ok || e.Code != klaxon.EINVALID || e.Field != tc.field || e.Message == "" {
				t.Fatalf("got %#v, want EINVALID on %q", err, tc.field)
			}
		})
	}
}

func TestErrorCodeOf(t *testing.T) {
	wrapped := fmt.Errorf("store: x: %w", klaxon.Errorf(klaxon.ENOTFOUND, "gone"))
	for _, tc := range []struct {
		err  error
		want klaxon.ErrorCode
	}{
		{nil, ""},
		{wrapped, klaxon.ENOTFOUND},
		{errors.New("disk on fire"), klaxon.EINTERNAL},
	} {
		if got := klaxon.ErrorCodeOf(tc.err); got != tc.want {
			t.Errorf("ErrorCodeOf(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	if got := klaxon.FieldError("name", "is required").Error(); got != "name: is required" {
		t.Errorf("Error() = %q", got)
	}
}

func TestRoles(t *testing.T) {
	order := []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin, klaxon.RoleOwner}
	for i, have := range order {
		for j, need := range order {
			if got := have.Allows(need); got != (i >= j) {
				t.Errorf("%s.Allows(%s) = %v", have, need, got)
			}
		}
	}
	if klaxon.Role("root").Valid() || klaxon.RoleOwner.Allows("root") || klaxon.Role("root").Allows(klaxon.RoleViewer) {
		t.Error("an unknown role must allow nothing and be allowed nothing")
	}
}

func TestUrgencyFor(t *testing.T) {
	for s, want := range map[klaxon.Severity]klaxon.Urgency{
		klaxon.SeverityCritical: klaxon.UrgencyHigh, klaxon.SeverityError: klaxon.UrgencyHigh,
		klaxon.SeverityWarning: klaxon.UrgencyLow, klaxon.SeverityInfo: klaxon.UrgencyLow,
	} {
		if got := klaxon.UrgencyFor(s); got != want {
			t.Errorf("UrgencyFor(%s) = %s, want %s", s, got, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	a, b := klaxon.NewSecret(), klaxon.NewSecret()
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("secrets %q %q: want distinct 32-character lowercase hex", a, b)
	}
	tok := klaxon.NewAPIToken()
	if !strings.HasPrefix(tok, klaxon.TokenPrefix) || len(tok) != len(klaxon.TokenPrefix)+48 {
		t.Fatalf("token %q", tok)
	}
	if string(klaxon.HashSecret(a)) == string(klaxon.HashSecret(b)) || len(klaxon.HashSecret(a)) != 32 {
		t.Fatal("hashes must differ and be SHA-256 sized")
	}
	if klaxon.SecretHint(a) != a[28:] || klaxon.SecretHint("abc") != "" {
		t.Fatal("hint must be the last four characters, and empty for short secrets")
	}
}

func TestPageNormalized(t *testing.T) {
	if p := (klaxon.Page{}).Normalized(); p.Limit != klaxon.DefaultPageSize || p.Before <= 0 {
		t.Fatalf("zero page = %+v", p)
	}
	if p := (klaxon.Page{Limit: 5000, Before: 7}).Normalized(); p.Limit != klaxon.MaxPageSize || p.Before != 7 {
		t.Fatalf("big page = %+v", p)
	}
}

func TestValidateNote(t *testing.T) {
	for body, wantErr := range map[string]bool{
		"looking": false, " ": true, "a\x00": true, strings.Repeat("n", klaxon.MaxNoteLength+1): true,
	} {
		if err := klaxon.ValidateNote(body); (err != nil) != wantErr {
			t.Errorf("ValidateNote(%.20q) = %v", body, err)
		}
	}
}
