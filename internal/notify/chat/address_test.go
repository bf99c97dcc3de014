package chat

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

func TestParseAddress(t *testing.T) {
	good := []struct {
		name, addr string
		want       Address
	}{
		{"Slack by host", "https://hooks.slack.com/services/T000/B000/XXXX", Address{Slack, "https://hooks.slack.com/services/T000/B000/XXXX"}},
		{"Slack host in capitals", "https://HOOKS.SLACK.COM/services/T/B/X", Address{Slack, "https://HOOKS.SLACK.COM/services/T/B/X"}},
		{"Slack host with root dot", "https://hooks.slack.com./services/T/B/X", Address{Slack, "https://hooks.slack.com./services/T/B/X"}},
		{"Teams Workflows on Logic Apps", "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1g",
			Address{Teams, "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s1g"}},
		{"Teams Workflows on Power Platform", "https://default1234.56.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=x",
			Address{Teams, "https://default1234.56.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=x"}},
		{"Teams connector", "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi", Address{Teams, "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"}},
		{"Mattermost by default", "https://chat.example.com/hooks/xxx-generatedkey-xxx", Address{Mattermost, "https://chat.example.com/hooks/xxx-generatedkey-xxx"}},
		{"plain http on a private network", "http://10.0.0.5:8065/hooks/abc", Address{Mattermost, "http://10.0.0.5:8065/hooks/abc"}},
		{"Slack prefix on a local server", "slack+http://127.0.0.1:9000/services/T/B/X", Address{Slack, "http://127.0.0.1:9000/services/T/B/X"}},
		{"Teams prefix", "teams+https://proxy.example.com/teams", Address{Teams, "https://proxy.example.com/teams"}},
		{"Mattermost prefix beats the host", "mattermost+https://hooks.slack.com/x", Address{Mattermost, "https://hooks.slack.com/x"}},
		{"prefix in capitals", "SLACK+HTTPS://chat.example.com/x", Address{Slack, "https://chat.example.com/x"}},
		{"look-alike Slack host is not Slack", "https://hooks.slack.com.evil.example/services/x", Address{Mattermost, "https://hooks.slack.com.evil.example/services/x"}},
		{"look-alike Teams host is not Teams", "https://webhook.office.com.evil.example/x", Address{Mattermost, "https://webhook.office.com.evil.example/x"}},
		{"bare suffix is not Teams", "https://logic.azure.com/x", Address{Mattermost, "https://logic.azure.com/x"}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddress(tc.addr)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tc.addr, err)
			}
			if got != tc.want {
				t.Fatalf("ParseAddress(%q) = %+v, want %+v", tc.addr, got, tc.want)
			}
		})
	}

	bad := []struct{ name, addr, want string }{
		{"empty", "", "required"},
		{"no scheme", "hooks.slack.com/services/T/B/SECRET", "incoming-webhook URL"},
		{"other scheme", "ftp://hooks.slack.com/services/T/B/SECRET", "incoming-webhook URL"},
		{"unknown prefix", "discord+https://discord.com/api/webhooks/SECRET", "unknown prefix"},
		{"prefix with other transport", "slack+ftp://hooks.slack.com/SECRET", "incoming-webhook URL"},
		{"prefix only", "slack+https://", "incoming-webhook URL"},
		{"empty prefix", "+https://hooks.slack.com/SECRET", "unknown prefix"},
		{"double prefix", "slack+teams+https://x/SECRET", "incoming-webhook URL"},
		{"no host", "https:///services/SECRET", "incoming-webhook URL"},
		{"opaque", "https:hooks.slack.com/SECRET", "incoming-webhook URL"},
		{"credentials", "https://user:SECRET@chat.example.com/hooks/x", "user name or password"},
		{"fragment", "https://chat.example.com/hooks/SECRET#x", "fragment"},
		{"space", "https://chat.example.com/hooks/SECRET x", "spaces"},
		{"control", "https://chat.example.com/hooks/SECRET\r\n", "control"},
		{"invalid UTF-8", "https://chat.example.com/\xffSECRET", "control"},
		{"too long", "https://chat.example.com/SECRET" + strings.Repeat("a", klaxon.MaxURLLength), "too long"},
		{"bad escape", "https://chat.example.com/%zzSECRET", "incoming-webhook URL"},
		{"bad port", "https://chat.example.com:port/SECRET", "incoming-webhook URL"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddress(tc.addr)
			if err == nil {
				t.Fatalf("ParseAddress(%q) = %+v, want an error", tc.addr, got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
				t.Errorf("error %v is not a field error", err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q repeats the webhook URL", err)
			}
		})
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"https://hooks.slack.com/services/T/B/X", "teams+https://x.logic.azure.com/w?sig=1",
		"mattermost+http://[::1]:8065/hooks/a", "slack+https://", "a+b://c", "https://u@h/x", "https://h/#", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		a, err := ParseAddress(addr)
		if err != nil {
			if klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
				t.Fatalf("ParseAddress(%q): %v is not a field error", addr, err)
			}
			return
		}
		switch a.Flavor {
		case Slack, Mattermost, Teams:
		default:
			t.Fatalf("ParseAddress(%q) gave flavour %q", addr, a.Flavor)
		}
		if !strings.HasSuffix(strings.ToLower(addr), strings.ToLower(a.URL)) {
			t.Fatalf("ParseAddress(%q) gave URL %q, not the address without its prefix", addr, a.URL)
		}
		// The URL is accepted again as is, and keeps its flavour when the
		// flavour is written out.
		again, err := ParseAddress(string(a.Flavor) + "+" + a.URL)
		if err != nil || again != a {
			t.Fatalf("ParseAddress(%q+%q) = %+v, %v; want %+v", a.Flavor, a.URL, again, err, a)
		}
	})
}
