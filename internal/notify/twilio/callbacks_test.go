package twilio

import (
	"net/url"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/notify"
)

const (
	smSID = "SM0123456789abcdef0123456789abcdef"
	caSID = "CA0123456789abcdef0123456789abcdef"
)

func TestParseStatusCallback(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want Status
		out  Outcome
	}{
		{"message delivered", url.Values{"MessageSid": {smSID}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}},
			Status{SID: smSID, Status: "delivered"}, Delivered},
		{"message sent is not yet delivered", url.Values{"MessageSid": {smSID}, "MessageStatus": {"sent"}},
			Status{SID: smSID, Status: "sent"}, InProgress},
		{"message queued", url.Values{"MessageSid": {smSID}, "MessageStatus": {"queued"}},
			Status{SID: smSID, Status: "queued"}, InProgress},
		{"message sending", url.Values{"MessageSid": {smSID}, "MessageStatus": {"sending"}},
			Status{SID: smSID, Status: "sending"}, InProgress},
		{"message undelivered with code", url.Values{"MessageSid": {smSID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}},
			Status{SID: smSID, Status: "undelivered", ErrorCode: "30003"}, Failed},
		{"message failed", url.Values{"MessageSid": {smSID}, "MessageStatus": {"failed"}, "ErrorCode": {"30008"}},
			Status{SID: smSID, Status: "failed", ErrorCode: "30008"}, Failed},
		{"mms read", url.Values{"MessageSid": {"MM" + smSID[2:]}, "MessageStatus": {"read"}},
			Status{SID: "MM" + smSID[2:], Status: "read"}, Delivered},
		{"status added later", url.Values{"MessageSid": {smSID}, "MessageStatus": {"scheduled"}},
			Status{SID: smSID, Status: "scheduled"}, InProgress},
		{"call ringing", url.Values{"CallSid": {caSID}, "CallStatus": {"ringing"}},
			Status{SID: caSID, Status: "ringing"}, InProgress},
		{"call answered", url.Values{"CallSid": {caSID}, "CallStatus": {"in-progress"}},
			Status{SID: caSID, Status: "in-progress"}, Delivered},
		{"call completed", url.Values{"CallSid": {caSID}, "CallStatus": {"completed"}},
			Status{SID: caSID, Status: "completed"}, Delivered},
		{"call busy", url.Values{"CallSid": {caSID}, "CallStatus": {"busy"}}, Status{SID: caSID, Status: "busy"}, Failed},
		{"call no-answer", url.Values{"CallSid": {caSID}, "CallStatus": {"no-answer"}}, Status{SID: caSID, Status: "no-answer"}, Failed},
		{"call failed", url.Values{"CallSid": {caSID}, "CallStatus": {"failed"}}, Status{SID: caSID, Status: "failed"}, Failed},
		{"call canceled", url.Values{"CallSid": {caSID}, "CallStatus": {"canceled"}}, Status{SID: caSID, Status: "canceled"}, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatusCallback(tt.form)
			if err != nil {
				t.Fatalf("ParseStatusCallback: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseStatusCallback = %+v, want %+v", got, tt.want)
			}
			if o := got.Outcome(); o != tt.out {
				t.Errorf("Outcome = %v, want %v", o, tt.out)
			}
		})
	}
}

func TestParseStatusCallbackRefuses(t *testing.T) {
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"empty", url.Values{}, "MessageSid"},
		{"no status", url.Values{"MessageSid": {smSID}}, "MessageStatus"},
		{"empty status", url.Values{"MessageSid": {smSID}, "MessageStatus": {""}}, "MessageStatus"},
		{"call status missing", url.Values{"CallSid": {caSID}, "MessageStatus": {"delivered"}}, "CallStatus"},
		{"call sid for message", url.Values{"MessageSid": {caSID}, "MessageStatus": {"sent"}}, "MessageSid"},
		{"short sid", url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"sent"}}, "MessageSid"},
		{"sid not hex", url.Values{"MessageSid": {"SM" + strings.Repeat("g", 32)}, "MessageStatus": {"sent"}}, "MessageSid"},
		{"status with spaces", url.Values{"MessageSid": {smSID}, "MessageStatus": {"de livered"}}, "MessageStatus"},
		{"status too long", url.Values{"MessageSid": {smSID}, "MessageStatus": {strings.Repeat("a", 33)}}, "MessageStatus"},
		{"status twice", url.Values{"MessageSid": {smSID}, "MessageStatus": {"sent", "delivered"}}, "MessageStatus"},
		{"error code not a number", url.Values{"MessageSid": {smSID}, "MessageStatus": {"failed"}, "ErrorCode": {"30x"}}, "ErrorCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatusCallback(tt.form)
			if err == nil {
				t.Fatalf("ParseStatusCallback = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestParseInboundSMS(t *testing.T) {
	form := url.Values{"MessageSid": {smSID}, "SmsSid": {smSID}, "AccountSid": {testSID},
		"From": {"+14155550123"}, "To": {testFrom}, "Body": {" Ack  #4 "}, "NumMedia": {"0"}}
	got, err := ParseInboundSMS(form)
	if err != nil {
		t.Fatal(err)
	}
	want := Inbound{SID: smSID, From: "+14155550123", To: testFrom, Body: " Ack  #4 "}
	if got != want {
		t.Fatalf("ParseInboundSMS = %+v, want %+v", got, want)
	}
	if r, err := notify.ParseReply(got.Body); err != nil || r != (notify.Reply{Action: notify.ReplyAcknowledge, Number: 4}) {
		t.Errorf("ParseReply(%q) = %+v, %v", got.Body, r, err)
	}
	form.Set("Body", "")
	if _, err := ParseInboundSMS(form); err != nil {
		t.Errorf("empty body (a picture): %v", err)
	}
}

func TestParseInboundSMSRefuses(t *testing.T) {
	good := func() url.Values {
		return url.Values{"MessageSid": {smSID}, "From": {"+14155550123"}, "To": {testFrom}, "Body": {"ACK 4"}}
	}
	tests := []struct {
		name  string
		mod   func(url.Values)
		field string
	}{
		{"no sid", func(f url.Values) { f.Del("MessageSid") }, "MessageSid"},
		{"no from", func(f url.Values) { f.Del("From") }, "From"},
		{"no to", func(f url.Values) { f.Del("To") }, "To"},
		{"from with newline", func(f url.Values) { f.Set("From", "+1415\n5550123") }, "From"},
		{"body not UTF-8", func(f url.Values) { f.Set("Body", "ACK \xff") }, "Body"},
		{"body too long", func(f url.Values) { f.Set("Body", strings.Repeat("x", maxInboundBody+1)) }, "Body"},
		{"two bodies", func(f url.Values) { f.Add("Body", "RES 4") }, "Body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := good()
			tt.mod(f)
			got, err := ParseInboundSMS(f)
			if err == nil {
				t.Fatalf("ParseInboundSMS = %+v, want an error", got)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestParseGather(t *testing.T) {
	for digits, want := range map[string]notify.ReplyAction{
		"4": notify.ReplyAcknowledge, "6": notify.ReplyResolve, "8": notify.ReplyEscalate,
	} {
		g, err := ParseGather(url.Values{"CallSid": {caSID}, "Digits": {digits}, "n": {"job-42"}})
		if err != nil {
			t.Fatalf("Digits %s: %v", digits, err)
		}
		if g != (Gather{CallSID: caSID, Digits: digits, Key: "job-42", Action: want}) {
			t.Errorf("Digits %s: ParseGather = %+v", digits, g)
		}
	}
}

func TestParseGatherRefuses(t *testing.T) {
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"unknown digit", url.Values{"CallSid": {caSID}, "Digits": {"5"}, "n": {"k"}}, "Digits"},
		{"two digits", url.Values{"CallSid": {caSID}, "Digits": {"44"}, "n": {"k"}}, "Digits"},
		{"star", url.Values{"CallSid": {caSID}, "Digits": {"*"}, "n": {"k"}}, "Digits"},
		{"no digits", url.Values{"CallSid": {caSID}, "n": {"k"}}, "Digits"},
		{"no key", url.Values{"CallSid": {caSID}, "Digits": {"4"}}, "n"},
		{"two keys", url.Values{"CallSid": {caSID}, "Digits": {"4"}, "n": {"a", "b"}}, "n"},
		{"no call", url.Values{"Digits": {"4"}, "n": {"k"}}, "CallSid"},
		{"message sid as call", url.Values{"CallSid": {smSID}, "Digits": {"4"}, "n": {"k"}}, "CallSid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := ParseGather(tt.form)
			if err == nil {
				t.Fatalf("ParseGather = %+v, want an error", g)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		"MessageSid=" + smSID + "&MessageStatus=delivered",
		"CallSid=" + caSID + "&CallStatus=no-answer&ErrorCode=",
		"MessageSid=" + smSID + "&From=%2B14155550123&To=%2B15005550006&Body=ACK+4",
		"CallSid=" + caSID + "&Digits=4&n=job-42",
		"MessageSid=&MessageSid=x&Body=%ff",
		"",
	} {
		f.Add(s)
	}
}

func FuzzParseStatusCallback(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, err := ParseStatusCallback(form)
		if err == nil && (!validResourceSID(s.SID) || s.Status == "") {
			t.Fatalf("ParseStatusCallback(%q) = %+v without an error", raw, s)
		}
		_ = s.Outcome()
	})
}

func FuzzParseInboundSMS(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := ParseInboundSMS(form)
		if err == nil && (!validResourceSID(in.SID) || in.From == "" || in.To == "") {
			t.Fatalf("ParseInboundSMS(%q) = %+v without an error", raw, in)
		}
	})
}

func FuzzParseGather(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		g, err := ParseGather(form)
		if err == nil && (g.Action == "" || g.Key == "" || !validResourceSID(g.CallSID)) {
			t.Fatalf("ParseGather(%q) = %+v without an error", raw, g)
		}
	})
}
