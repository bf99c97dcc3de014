package notify

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Reply
	}{
		{"canonical ack", "ACK 4", Reply{ReplyAcknowledge, 4}},
		{"lower case no space", "ack4", Reply{ReplyAcknowledge, 4}},
		{"mixed case spaces and hash", " Ack  #4 ", Reply{ReplyAcknowledge, 4}},
		{"hash without spaces", "ack#4", Reply{ReplyAcknowledge, 4}},
		{"space after hash", "ACK # 4", Reply{ReplyAcknowledge, 4}},
		{"long word", "ACKNOWLEDGE 4", Reply{ReplyAcknowledge, 4}},
		{"long word lower", "acknowledge 12", Reply{ReplyAcknowledge, 12}},
		{"resolve short", "RES 4", Reply{ReplyResolve, 4}},
		{"resolve long", "RESOLVE 4", Reply{ReplyResolve, 4}},
		{"resolve long glued", "resolve4", Reply{ReplyResolve, 4}},
		{"escalate short", "ESC 4", Reply{ReplyEscalate, 4}},
		{"escalate long", "Escalate 4", Reply{ReplyEscalate, 4}},
		{"tab and newline", "\tack\t4\n", Reply{ReplyAcknowledge, 4}},
		{"no-break space from a phone", "ACK\u00a04", Reply{ReplyAcknowledge, 4}},
		{"smallest number", "ACK 1", Reply{ReplyAcknowledge, 1}},
		{"largest number", "RES 999999", Reply{ReplyResolve, 999999}},
		{"leading zero", "ACK 04", Reply{ReplyAcknowledge, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReply(tt.in)
			if err != nil {
				t.Fatalf("ParseReply(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseReply(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseReplyRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"spaces", "   "},
		{"word only", "ACK"},
		{"number only", "4"},
		{"hash only", "ACK #"},
		{"zero", "ACK 0"},
		{"too large", "ACK 1000000"},
		{"seven digits with zeros", "ACK 0000004"},
		{"negative", "ACK -4"},
		{"plus sign", "ACK +4"},
		{"two numbers", "ACK 4 5"},
		{"comma list", "ACK 4,5"},
		{"trailing word", "ACK 4 please"},
		{"leading word", "please ACK 4"},
		{"unknown word", "OK 4"},
		{"truncated word", "ACKN 4"},
		{"misspelt word", "RESOLV 4"},
		{"prefix of a word", "AC 4"},
		{"word with suffix", "ACKED 4"},
		{"two hashes", "ACK ##4"},
		{"hash after number", "ACK 4#"},
		{"decimal", "ACK 4.0"},
		{"hex", "ACK 0x4"},
		{"arabic-indic digit", "ACK \u0664"},
		{"fullwidth digit", "ACK \uff14"},
		{"kelvin sign is not k", "AC\u212a 4"},
		{"long s is not s", "e\u017fc 4"},
		{"stop word", "STOP"},
		{"invalid utf-8", "ACK \xff4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReply(tt.in)
			if err == nil {
				t.Fatalf("ParseReply(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, ErrReplySyntax) {
				t.Fatalf("ParseReply(%q) error = %v, want ErrReplySyntax", tt.in, err)
			}
		})
	}
}

func TestParseReplyErrorTeachesSyntax(t *testing.T) {
	_, err := ParseReply("yes")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"ACK 4", "RES 4", "ESC 4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not show %q", err, want)
		}
	}
	if n := len(err.Error()); n > 160 {
		t.Errorf("error is %d bytes, more than one SMS segment", n)
	}
}

func TestReplyString(t *testing.T) {
	tests := []struct {
		r    Reply
		want string
	}{
		{Reply{ReplyAcknowledge, 4}, "ACK 4"},
		{Reply{ReplyResolve, 17}, "RES 17"},
		{Reply{ReplyEscalate, 999999}, "ESC 999999"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
		back, err := ParseReply(tt.want)
		if err != nil || back != tt.r {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v", tt.want, back, err, tt.r)
		}
	}
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"ACK 4", "ack4", " Ack  #4 ", "ACKNOWLEDGE 4", "RES 4", "RESOLVE 4",
		"ESC 4", "ESCALATE 4", "ACK 0", "ACK 1000000", "ACK 4 5", "", "#", "ack#", "\u00a0res\u00a0#\u00a09"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReply(s)
		if err != nil {
			if r != (Reply{}) {
				t.Fatalf("ParseReply(%q) returned %+v with an error", s, r)
			}
			return
		}
		switch r.Action {
		case ReplyAcknowledge, ReplyResolve, ReplyEscalate:
		default:
			t.Fatalf("ParseReply(%q) action %q", s, r.Action)
		}
		if r.Number < 1 || r.Number > MaxReplyNumber {
			t.Fatalf("ParseReply(%q) number %d out of range", s, r.Number)
		}
		back, err := ParseReply(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseReply(%q) = %+v, but its String %q parses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}
