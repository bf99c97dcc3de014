package email_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/notify/email"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name, raw    string
		want         email.URL
		wantPassword string
		wantString   string
	}{
		{
			name:       "smtp defaults to submission port and opportunistic STARTTLS",
			raw:        "smtp://mail.example.com",
			want:       email.URL{Scheme: "smtp", Host: "mail.example.com", Port: 587, StartTLS: email.StartTLSOpportunistic},
			wantString: "smtp://mail.example.com:587",
		},
		{
			name:         "smtps defaults to 465",
			raw:          "smtps://user:pw@Mail.Example.com",
			want:         email.URL{Scheme: "smtps", Host: "mail.example.com", Port: 465, Username: "user"},
			wantPassword: "pw",
			wantString:   "smtps://user:xxxxx@mail.example.com:465",
		},
		{
			name:         "explicit port, required STARTTLS, LOGIN",
			raw:          "smtp://u:p@relay.internal:2525?starttls=required&auth=login",
			want:         email.URL{Scheme: "smtp", Host: "relay.internal", Port: 2525, Username: "u", StartTLS: email.StartTLSRequired, Auth: "login"},
			wantPassword: "p",
			wantString:   "smtp://u:xxxxx@relay.internal:2525?starttls=required&auth=login",
		},
		{
			name:         "percent-encoded user and password",
			raw:          "smtp://alerts%40example.com:p%40ss%2Fw%3Ard@smtp.example.com:587/",
			want:         email.URL{Scheme: "smtp", Host: "smtp.example.com", Port: 587, Username: "alerts@example.com", StartTLS: email.StartTLSOpportunistic},
			wantPassword: "p@ss/w:rd",
			wantString:   "smtp://alerts%40example.com:xxxxx@smtp.example.com:587",
		},
		{
			name:         "unencoded @ / ? in the password",
			raw:          "smtp://user:p@ss/w?rd@smtp.example.com",
			want:         email.URL{Scheme: "smtp", Host: "smtp.example.com", Port: 587, Username: "user", StartTLS: email.StartTLSOpportunistic},
			wantPassword: "p@ss/w?rd",
			wantString:   "smtp://user:xxxxx@smtp.example.com:587",
		},
		{
			name:       "IPv6 literal",
			raw:        "SMTP://[::1]:25?starttls=never",
			want:       email.URL{Scheme: "smtp", Host: "::1", Port: 25, StartTLS: email.StartTLSNever},
			wantString: "smtp://[::1]:25?starttls=never",
		},
		{
			name:         "never with credentials is fine on loopback",
			raw:          "smtp://u:p@localhost:25?starttls=never",
			want:         email.URL{Scheme: "smtp", Host: "localhost", Port: 25, Username: "u", StartTLS: email.StartTLSNever},
			wantPassword: "p",
			wantString:   "smtp://u:xxxxx@localhost:25?starttls=never",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := email.ParseURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			if pw := email.Password(got); pw != tt.wantPassword {
				t.Errorf("password = %q, want %q", pw, tt.wantPassword)
			}
			if got.String() != tt.wantString {
				t.Errorf("String() = %q, want %q", got.String(), tt.wantString)
			}
			got2, err := email.ParseURL(got.String())
			if err == nil && got2.Addr() != got.Addr() {
				t.Errorf("String() does not parse back to the same address: %v", got2)
			}
			// Compare without the unexported password.
			if got.Scheme != tt.want.Scheme || got.Host != tt.want.Host ||
				got.Port != tt.want.Port || got.Username != tt.want.Username || got.StartTLS != tt.want.StartTLS || got.Auth != tt.want.Auth {
				t.Errorf("ParseURL(%q) = %#v, want %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const secret = "hunter2secret"
	tests := []struct{ name, raw, wantErr string }{
		{"empty", "", "missing scheme"},
		{"no scheme", "user:" + secret + "@mail.example.com", "missing scheme"},
		{"bad scheme", "http://user:" + secret + "@mail.example.com", `unsupported scheme "http"`},
		{"single slash", "smtp:/user:" + secret + "@mail.example.com", "missing scheme"},
		{"missing host", "smtp://user:" + secret + "@", "missing host"},
		{"missing host with port", "smtps://user:" + secret + "@:465", "missing host"},
		{"port not a number", "smtp://user:" + secret + "@mail.example.com:smtp", `port "smtp"`},
		{"port too big", "smtp://user:" + secret + "@mail.example.com:65536", `port "65536"`},
		{"port zero", "smtp://mail.example.com:0", `port "0"`},
		{"port signed", "smtp://mail.example.com:+25", `port "+25"`},
		{"empty port", "smtp://mail.example.com:", `port ""`},
		{"password in the port", "smtp://user:" + secret + "/x@mail.example.com:x" + "y", `port "xy"`},
		{"bare IPv6", "smtp://::1:25", "must be in brackets"},
		{"unclosed IPv6", "smtp://u:" + secret + "@[::1:25", "missing ']'"},
		{"IPv4 in brackets", "smtp://[127.0.0.1]", "not an IPv6 address"},
		{"bad host character", "smtp://u:" + secret + "@mail example.com", "not a valid host name"},
		{"path", "smtp://u:" + secret + "@mail.example.com/inbox", "path"},
		{"fragment", "smtp://u:" + secret + "@mail.example.com#x", "fragment"},
		{"user without password", "smtp://user@mail.example.com", "without a password"},
		{"password without user", "smtp://:" + secret + "@mail.example.com", "without a user name"},
		{"empty credentials", "smtp://@mail.example.com", "empty credentials"},
		{"bad escape in password", "smtp://user:" + secret + "%zz@mail.example.com", "percent-encoding in the password"},
		{"bad escape in user", "smtp://us%zzer:" + secret + "@mail.example.com", "percent-encoding in the user name"},
		{"control character in password", "smtp://user:" + secret + "%0d%0a@mail.example.com", "control characters in the password"},
		{"unknown parameter", "smtp://u:" + secret + "@mail.example.com?tls=yes", `unknown parameter "tls"`},
		{"bad starttls", "smtp://u:" + secret + "@mail.example.com?starttls=maybe", "want opportunistic, required or never"},
		{"starttls on smtps", "smtps://u:" + secret + "@mail.example.com?starttls=required", "does not apply to smtps"},
		{"bad auth", "smtp://u:" + secret + "@mail.example.com?auth=cram-md5", "want plain or login"},
		{"auth without credentials", "smtp://mail.example.com?auth=plain", "without credentials"},
		{"repeated parameter", "smtp://mail.example.com?starttls=required&starttls=never", "more than once"},
		{"clear-text password to a remote host", "smtp://u:" + secret + "@mail.example.com?starttls=never", "clear text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.ParseURL(tt.raw)
			if err == nil {
				t.Fatalf("ParseURL(%q) succeeded, want an error containing %q", tt.raw, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseURL(%q) = %q, want it to contain %q", tt.raw, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestURLNeverShowsPassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	u, err := email.ParseURL("smtps://alerts:" + secret + "@smtp.example.com")
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, shown := range []string{
		u.String(), fmt.Sprint(u), fmt.Sprintf("%v %+v %#v %s %q", u, u, u, u, u), fmt.Sprintf("%+v", &u), string(j),
	} {
		if strings.Contains(shown, secret) {
			t.Errorf("password shown in %q", shown)
		}
	}
	if email.Password(u) != secret {
		t.Errorf("password not kept: %q", email.Password(u))
	}
}

// FuzzParseURL checks that ParseURL never panics, and that whatever the
// input, a password (everything between the first ':' and the last '@'
// after "://") never shows in an error or in String. To tell a leak from a
// coincidence, the password is replaced by a marker the rest of the input
// cannot produce.
func FuzzParseURL(f *testing.F) {
	for _, seed := range []string{
		"smtp://mail.example.com",
		"smtps://user:pass@mail.example.com:465",
		"smtp://u:p@[::1]:25?starttls=never&auth=login",
		"smtp://u:p@ss/w?rd@host:99999",
		"smtp://u:%zz@host",
		"smtp://user:pw/x@host:abc",
		"smtp://a:b@c:d@e:f?g=h#i",
		"SMTPS://:@",
		"smtp://u:p@host?starttls=never",
	} {
		f.Add(seed)
	}
	const marker = "Qz9MARKERpw7"
	f.Fuzz(func(t *testing.T, raw string) {
		if u, err := email.ParseURL(raw); err == nil {
			if _, err := email.ParseURL(u.String()); err != nil && email.Password(u) == "" {
				t.Errorf("String() of %q = %q does not parse: %v", raw, u.String(), err)
			}
		}
		scheme, rest, ok := strings.Cut(raw, "://")
		if !ok || strings.Contains(raw, marker) {
			return
		}
		at := strings.LastIndex(rest, "@")
		if at < 0 {
			return
		}
		user, _, _ := strings.Cut(rest[:at], ":")
		marked := scheme + "://" + user + ":" + marker + "@" + rest[at+1:]
		u, err := email.ParseURL(marked)
		if err != nil {
			if strings.Contains(err.Error(), marker) {
				t.Errorf("ParseURL(%q) error leaks the password: %q", marked, err)
			}
			return
		}
		if email.Password(u) != marker {
			t.Errorf("ParseURL(%q) password = %q, want %q", marked, email.Password(u), marker)
		}
		if s := u.String() + fmt.Sprintf("%#v", u); strings.Contains(s, marker) {
			t.Errorf("String of %q leaks the password: %q", marked, s)
		}
	})
}
