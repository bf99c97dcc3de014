package ntfy

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

func TestParseTopicURL(t *testing.T) {
	good := []struct {
		name, addr string
		want       Topic
	}{
		{"ntfy.sh", "https://ntfy.sh/klaxon-alice", Topic{"https://ntfy.sh", "klaxon-alice"}},
		{"self-hosted with port", "http://ntfy.internal:8080/oncall", Topic{"http://ntfy.internal:8080", "oncall"}},
		{"underscore and digits", "https://push.example.com/Team_42", Topic{"https://push.example.com", "Team_42"}},
		{"IPv4", "http://10.0.0.7/pager", Topic{"http://10.0.0.7", "pager"}},
		{"IPv6", "http://[::1]:2586/pager", Topic{"http://[::1]:2586", "pager"}},
		{"upper-case scheme", "HTTPS://ntfy.sh/x", Topic{"https://ntfy.sh", "x"}},
		{"64-character topic", "https://ntfy.sh/" + strings.Repeat("a", 64), Topic{"https://ntfy.sh", strings.Repeat("a", 64)}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTopicURL(tc.addr)
			if err != nil {
				t.Fatalf("ParseTopicURL(%q): %v", tc.addr, err)
			}
			if got != tc.want {
				t.Fatalf("ParseTopicURL(%q) = %+v, want %+v", tc.addr, got, tc.want)
			}
		})
	}

	bad := []struct{ name, addr, want string }{
		{"empty", "", "required"},
		{"no scheme", "ntfy.sh/alice", "http or https"},
		{"other scheme", "ftp://ntfy.sh/alice", "http or https"},
		{"ws scheme", "wss://ntfy.sh/alice", "http or https"},
		{"no host", "https:///alice", "http or https"},
		{"opaque", "https:ntfy.sh/alice", "http or https"},
		{"port only", "http://:80/alice", "http or https"},
		{"no topic", "https://ntfy.sh", "name a topic"},
		{"root only", "https://ntfy.sh/", "name a topic"},
		{"two segments", "https://ntfy.sh/a/b", "one topic name"},
		{"trailing slash", "https://ntfy.sh/alice/", "one topic name"},
		{"JSON endpoint", "https://ntfy.sh/alice/json", "one topic name"},
		{"dot in topic", "https://ntfy.sh/alice.pager", "topic name"},
		{"65-character topic", "https://ntfy.sh/" + strings.Repeat("a", 65), "topic name"},
		{"non-ASCII topic", "https://ntfy.sh/äöü", "topic name"},
		{"comma list", "https://ntfy.sh/a,b", "topic name"},
		{"query", "https://ntfy.sh/alice?auth=x", "query"},
		{"empty query", "https://ntfy.sh/alice?", "query"},
		{"fragment", "https://ntfy.sh/alice#x", "fragment"},
		{"escape", "https://ntfy.sh/al%69ce", "percent"},
		{"credentials", "https://bob:hunter2@ntfy.sh/alice", "user name or password"},
		{"user only", "https://bob@ntfy.sh/alice", "user name or password"},
		{"space", "https://ntfy.sh/ alice", "spaces"},
		{"newline", "https://ntfy.sh/alice\n", "control"},
		{"NUL", "https://ntfy.sh/\x00", "control"},
		{"invalid UTF-8", "https://ntfy.sh/\xff", "control"},
		{"too long", "https://ntfy.sh/" + strings.Repeat("a", klaxon.MaxURLLength), "too long"},
		{"bad port", "http://ntfy.sh:port/alice", "http or https"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTopicURL(tc.addr)
			if err == nil {
				t.Fatalf("ParseTopicURL(%q) = %+v, want an error", tc.addr, got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
				t.Errorf("error %v has code %s, want %s", err, klaxon.ErrorCodeOf(err), klaxon.EINVALID)
			}
			if strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the address", err)
			}
		})
	}
}

func FuzzParseTopicURL(f *testing.F) {
	for _, s := range []string{
		"https://ntfy.sh/klaxon-alice", "http://ntfy.internal:8080/oncall", "http://[::1]:2586/x",
		"https://ntfy.sh/a/b", "https://u:p@ntfy.sh/a", "https://ntfy.sh/a?b", "HTTPS://NTFY.SH/A",
		"http://%41/x", "http://[::1%25eth0]/x", "https:ntfy.sh/x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		topic, err := ParseTopicURL(addr)
		if err != nil {
			if klaxon.ErrorCodeOf(err) != klaxon.EINVALID {
				t.Fatalf("ParseTopicURL(%q): error %v is not a field error", addr, err)
			}
			return
		}
		if !ValidTopicName(topic.Name) {
			t.Fatalf("ParseTopicURL(%q) accepted topic %q", addr, topic.Name)
		}
		if !strings.HasPrefix(topic.Server, "http://") && !strings.HasPrefix(topic.Server, "https://") ||
			strings.ContainsAny(topic.Server[8:], "/?#@") {
			t.Fatalf("ParseTopicURL(%q) gave server %q", addr, topic.Server)
		}
		if !strings.EqualFold(topic.URL(), addr) {
			t.Fatalf("ParseTopicURL(%q).URL() = %q", addr, topic.URL())
		}
		again, err := ParseTopicURL(topic.URL())
		if err != nil || again != topic {
			t.Fatalf("ParseTopicURL(%q) = %+v, %v; first parse gave %+v", topic.URL(), again, err, topic)
		}
	})
}
