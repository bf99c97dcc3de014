package klaxon_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// wantField checks that err is nil when field is "", and otherwise an
// EINVALID naming field with a message.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	e, ok := klaxon.AsError(err)
	if !ok || e.Code != klaxon.EINVALID || e.Field != field || e.Message == "" {
		t.Fatalf("got %#v, want EINVALID on %q", err, field)
	}
}

func TestValidatePhone(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"US number", "+14155550123", true},
		{"8 digits", "+49301234", true},
		{"15 digits", "+123456789012345", true},
		{"empty", "", false},
		{"plus alone", "+", false},
		{"no plus", "14155550123", false},
		{"two pluses", "++14155550123", false},
		{"7 digits", "+4930123", false},
		{"16 digits", "+1234567890123456", false},
		{"leading zero", "+04155550123", false},
		{"spaces", "+1 415 555 0123", false},
		{"dashes", "+1-415-555-0123", false},
		{"brackets", "+1(415)5550123", false},
		{"letters", "+1415555CALL", false},
		{"trailing newline", "+14155550123\n", false},
		{"leading space", " +14155550123", false},
		{"fullwidth digits", "+１４１５５５５０１２３", false},
		{"extension", "+14155550123;ext=12", false},
		{"tel URI", "tel:+14155550123", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := "address"
			if tc.ok {
				field = ""
			}
			wantField(t, klaxon.ValidatePhone("address", tc.in), field)
		})
	}
}

func TestValidateEmail(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "ada@example.com", true},
		{"subaddress", "ada+pager@example.co.uk", true},
		{"no dot in domain", "admin@localhost", true},
		{"upper case", "Ada@Example.COM", true},
		{"empty", "", false},
		{"blank", "   ", false},
		{"no at", "ada.example.com", false},
		{"no local part", "@example.com", false},
		{"no domain", "ada@", false},
		{"two ats", "ada@b@example.com", false},
		{"display name", "Ada <ada@example.com>", false},
		{"angle brackets", "<ada@example.com>", false},
		{"comment", "ada@example.com (Ada)", false},
		{"leading space", " ada@example.com", false},
		{"trailing newline", "ada@example.com\n", false},
		{"space inside", "ada lovelace@example.com", false},
		{"two addresses", "ada@example.com, bob@example.com", false},
		{"header injection", "ada@example.com\r\nBcc: eve@example.com", false},
		{"too long", strings.Repeat("a", 250) + "@x.io", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := "email"
			if tc.ok {
				field = ""
			}
			wantField(t, klaxon.ValidateEmail("email", tc.in), field)
		})
	}
}

func TestValidateURL(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"https", "https://hooks.slack.com/services/T0/B0/x", true},
		{"http with port", "http://10.0.0.5:8080/hook", true},
		{"ipv6 host", "https://[::1]:8443/x", true},
		{"query", "https://ntfy.sh/ada?priority=5", true},
		{"empty", "", false},
		{"no scheme", "hooks.example.com/x", false},
		{"scheme-relative", "//hooks.example.com/x", false},
		{"ftp", "ftp://example.com/x", false},
		{"javascript", "javascript:alert(1)", false},
		{"mailto", "mailto:ada@example.com", false},
		{"no host", "https:///path", false},
		{"port only", "https://:443/x", false},
		{"opaque", "https:example.com", false},
		{"space", "https://example.com/a b", false},
		{"newline", "https://example.com/\nx", false},
		{"tab", "https://example.com/\tx", false},
		{"invalid UTF-8", "https://example.com/\xff", false},
		{"bad escape", "https://example.com/%zz", false},
		{"too long", "https://example.com/" + strings.Repeat("a", klaxon.MaxURLLength), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := "address"
			if tc.ok {
				field = ""
			}
			wantField(t, klaxon.ValidateURL("address", tc.in), field)
		})
	}
}

func TestValidateTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"UTC", "UTC", true},
		{"city", "Europe/Berlin", true},
		{"three parts", "America/Argentina/Buenos_Aires", true},
		{"Etc", "Etc/GMT+5", true},
		{"empty", "", false},
		{"Local", "Local", false},
		{"unknown", "Mars/Olympus_Mons", false},
		{"offset", "+02:00", false},
		{"lower case", "europe/berlin", false},
		{"path traversal", "../../etc/passwd", false},
		{"absolute path", "/etc/localtime", false},
		{"trailing space", "UTC ", false},
		{"too long", "Europe/" + strings.Repeat("x", 80), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := "time_zone"
			if tc.ok {
				field = ""
			}
			wantField(t, klaxon.ValidateTimeZone("time_zone", tc.in), field)
		})
	}
}

func TestUserValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*klaxon.User)
		field string
	}{
		{"valid", func(*klaxon.User) {}, ""},
		{"every role", func(u *klaxon.User) { u.Role = klaxon.RoleViewer }, ""},
		{"name missing", func(u *klaxon.User) { u.Name = "" }, "name"},
		{"name two lines", func(u *klaxon.User) { u.Name = "Ada\nLovelace" }, "name"},
		{"email missing", func(u *klaxon.User) { u.Email = "" }, "email"},
		{"email with name", func(u *klaxon.User) { u.Email = "Ada <ada@example.com>" }, "email"},
		{"time zone missing", func(u *klaxon.User) { u.TimeZone = "" }, "time_zone"},
		{"time zone Local", func(u *klaxon.User) { u.TimeZone = "Local" }, "time_zone"},
		{"role missing", func(u *klaxon.User) { u.Role = "" }, "role"},
		{"role unknown", func(u *klaxon.User) { u.Role = "god" }, "role"},
		{"role case", func(u *klaxon.User) { u.Role = "Admin" }, "role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := klaxon.User{Name: "Ada", Email: "ada@example.com", TimeZone: "Europe/London", Role: klaxon.RoleResponder}
			tc.edit(&u)
			wantField(t, u.Validate(), tc.field)
		})
	}
}

func TestTeamValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*klaxon.Team)
		field string
	}{
		{"valid", func(*klaxon.Team) {}, ""},
		{"no members", func(tm *klaxon.Team) { tm.Members = nil }, ""},
		{"name missing", func(tm *klaxon.Team) { tm.Name = " " }, "name"},
		{"description too long", func(tm *klaxon.Team) { tm.Description = strings.Repeat("d", klaxon.MaxDescriptionLength+1) }, "description"},
		{"member without user", func(tm *klaxon.Team) { tm.Members[1].UserID = 0 }, "members[1].user_id"},
		{"member role unknown", func(tm *klaxon.Team) { tm.Members[0].Role = "boss" }, "members[0].role"},
		{"member role missing", func(tm *klaxon.Team) { tm.Members[1].Role = "" }, "members[1].role"},
		{"member twice", func(tm *klaxon.Team) { tm.Members[1].UserID = tm.Members[0].UserID }, "members[1].user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := klaxon.Team{Name: "Payments", Members: []klaxon.TeamMembership{
				{UserID: 1, Role: klaxon.TeamManager}, {UserID: 2, Role: klaxon.TeamMember}}}
			tc.edit(&tm)
			wantField(t, tm.Validate(), tc.field)
		})
	}
	wantField(t, klaxon.TeamMembership{UserID: 3, Role: "x"}.Validate(), "role")
	wantField(t, klaxon.TeamMembership{Role: klaxon.TeamMember}.Validate(), "user_id")
}

func TestContactMethodValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     klaxon.ContactMethod
		field string
	}{
		{"email", klaxon.ContactMethod{Type: klaxon.ContactEmail, Address: "ada@example.com"}, ""},
		{"sms", klaxon.ContactMethod{Type: klaxon.ContactSMS, Address: "+447700900123"}, ""},
		{"voice", klaxon.ContactMethod{Type: klaxon.ContactVoice, Address: "+14155550123"}, ""},
		{"push", klaxon.ContactMethod{Type: klaxon.ContactPush, Address: "https://ntfy.sh/ada-pager"}, ""},
		{"chat", klaxon.ContactMethod{Type: klaxon.ContactChat, Address: "https://hooks.slack.com/services/T/B/x"}, ""},
		{"webhook", klaxon.ContactMethod{Type: klaxon.ContactWebhook, Address: "http://10.0.0.1/hook"}, ""},
		{"type missing", klaxon.ContactMethod{Address: "ada@example.com"}, "type"},
		{"type unknown", klaxon.ContactMethod{Type: "pager", Address: "123"}, "type"},
		{"type case", klaxon.ContactMethod{Type: "SMS", Address: "+14155550123"}, "type"},
		{"address missing", klaxon.ContactMethod{Type: klaxon.ContactSMS}, "address"},
		{"email given a phone", klaxon.ContactMethod{Type: klaxon.ContactEmail, Address: "+14155550123"}, "address"},
		{"sms given an email", klaxon.ContactMethod{Type: klaxon.ContactSMS, Address: "ada@example.com"}, "address"},
		{"voice with spaces", klaxon.ContactMethod{Type: klaxon.ContactVoice, Address: "+1 415 555 0123"}, "address"},
		{"chat not a URL", klaxon.ContactMethod{Type: klaxon.ContactChat, Address: "#incidents"}, "address"},
		{"webhook ftp", klaxon.ContactMethod{Type: klaxon.ContactWebhook, Address: "ftp://example.com/x"}, "address"},
		{"push device token", klaxon.ContactMethod{Type: klaxon.ContactPush, Address: "f3a9c0d1"}, "address"},
		{"name two lines", klaxon.ContactMethod{Type: klaxon.ContactSMS, Address: "+14155550123", Name: "a\nb"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if c.Name == "" {
				c.Name = "label"
			}
			wantField(t, c.Validate(), tc.field)
		})
	}
}

func TestNotificationRuleValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*klaxon.NotificationRule)
		field string
	}{
		{"valid", func(*klaxon.NotificationRule) {}, ""},
		{"no delay", func(n *klaxon.NotificationRule) { n.DelayMinutes = 0 }, ""},
		{"a day", func(n *klaxon.NotificationRule) { n.DelayMinutes = klaxon.MaxRuleDelayMinutes }, ""},
		{"low", func(n *klaxon.NotificationRule) { n.Urgency = klaxon.UrgencyLow }, ""},
		{"contact method missing", func(n *klaxon.NotificationRule) { n.ContactMethodID = 0 }, "contact_method_id"},
		{"negative delay", func(n *klaxon.NotificationRule) { n.DelayMinutes = -1 }, "delay_minutes"},
		{"over a day", func(n *klaxon.NotificationRule) { n.DelayMinutes = klaxon.MaxRuleDelayMinutes + 1 }, "delay_minutes"},
		{"urgency missing", func(n *klaxon.NotificationRule) { n.Urgency = "" }, "urgency"},
		{"urgency unknown", func(n *klaxon.NotificationRule) { n.Urgency = "critical" }, "urgency"},
		{"urgency case", func(n *klaxon.NotificationRule) { n.Urgency = "HIGH" }, "urgency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := klaxon.NotificationRule{UserID: 1, ContactMethodID: 2, DelayMinutes: 5, Urgency: klaxon.UrgencyHigh}
			tc.edit(&n)
			wantField(t, n.Validate(), tc.field)
		})
	}
}

func TestReachWarnings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reach klaxon.Reach
		want  []string
	}{
		{"nothing set up", klaxon.Reach{}, []string{klaxon.WarningNoContactMethods, klaxon.WarningNoNotificationRules}},
		{"contact method, no rules", klaxon.Reach{ContactMethods: 1}, []string{klaxon.WarningNoNotificationRules}},
		{"only low-urgency rules", klaxon.Reach{ContactMethods: 1, LowUrgencyRules: 2}, []string{klaxon.WarningNoHighUrgencyRules}},
		{"high-urgency rules only", klaxon.Reach{ContactMethods: 1, HighUrgencyRules: 1}, []string{}},
		{"both", klaxon.Reach{ContactMethods: 2, HighUrgencyRules: 1, LowUrgencyRules: 1}, []string{}},
		{"on a schedule, no rules", klaxon.Reach{ContactMethods: 1, Schedules: 2},
			[]string{klaxon.WarningOnScheduleUnreachable, klaxon.WarningNoNotificationRules}},
		{"on a schedule with rules", klaxon.Reach{ContactMethods: 1, HighUrgencyRules: 1, Schedules: 1}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.reach.Warnings()
			if got == nil || !slices.Equal(got, tc.want) {
				t.Fatalf("warnings = %#v, want %#v", got, tc.want)
			}
		})
	}
	if klaxon.WarningNoNotificationRules != "no notification rules" {
		t.Fatal("the warning text is part of the API contract")
	}
}
