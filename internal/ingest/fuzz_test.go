package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// The fuzz targets hold the decoders to their contract on any input: never
// panic; on success, a valid event (and, for the native format, one that
// survives re-encoding unchanged); on failure, an error a sender can act on.

func FuzzDecodeNative(f *testing.F) {
	for _, tc := range nativeGood {
		f.Add([]byte(tc.body))
	}
	for _, tc := range nativeBad {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkScanner(t, body)
		ev, err := DecodeNative(body)
		if err != nil {
			checkFuzzError(t, err, "")
			if !reflect.DeepEqual(ev, klaxon.Event{}) {
				t.Fatalf("an event came with the error %v", err)
			}
			return
		}
		checkNativeEvent(t, ev)
		again, err := DecodeNative(encodeNative(t, ev))
		if err != nil {
			t.Fatalf("re-encoded event refused: %v\nevent %+v", err, ev)
		}
		if !eventsEqual(normalized(again), normalized(ev)) {
			t.Fatalf("re-encoding changed the event\nfirst  %+v\nsecond %+v", ev, again)
		}
	})
}

func FuzzDecodeNativeBatch(f *testing.F) {
	for _, tc := range batchBad {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	var all []string
	for _, tc := range nativeGood {
		all = append(all, tc.body)
		f.Add([]byte("[" + tc.body + "]"))
	}
	for _, tc := range nativeBad {
		if len(tc.body) < 4096 {
			all = append(all, tc.body)
		}
	}
	f.Add([]byte("[" + strings.Join(all, ",") + "]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, errs, err := DecodeNativeBatch(body)
		if err != nil {
			checkFuzzError(t, err, "")
			if events != nil || errs != nil {
				t.Fatal("results came with the error")
			}
			return
		}
		if len(events) == 0 || len(events) > klaxon.MaxBatchEvents || len(events) != len(errs) {
			t.Fatalf("%d events and %d errors", len(events), len(errs))
		}
		// Each element decodes in the batch as it does alone.
		var elems []json.RawMessage
		if err := json.Unmarshal(body, &elems); err != nil || len(elems) != len(events) {
			t.Fatalf("the batch was accepted but is not an array of %d: %v", len(events), err)
		}
		for i := range events {
			alone, aloneErr := DecodeNative(elems[i])
			if errs[i] != nil {
				checkFuzzError(t, errs[i], "["+itoa(i)+"]")
				if aloneErr == nil {
					t.Fatalf("[%d] refused in the batch (%v) but accepted alone", i, errs[i])
				}
				continue
			}
			checkNativeEvent(t, events[i])
			if aloneErr != nil || !eventsEqual(alone, events[i]) {
				t.Fatalf("[%d] decodes differently alone: %v", i, aloneErr)
			}
		}
	})
}

func FuzzDecodePagerDuty(f *testing.F) {
	for _, tc := range pdGood {
		f.Add([]byte(tc.body))
	}
	for _, tc := range pdBad {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		key, ev, problems := DecodePagerDuty(body)
		if len(problems) > 0 {
			checkProblems(t, problems)
			if !reflect.DeepEqual(ev, klaxon.Event{}) {
				t.Fatalf("an event came with the problems %q", problems)
			}
			return
		}
		if utf8.RuneCountInString(key) != routingKeyLength {
			t.Fatalf("accepted routing key %q", key)
		}
		if err := ev.Validate(pdFieldNames); err != nil {
			t.Fatalf("accepted an invalid event: %v\n%+v", err, ev)
		}
		checkDecoded(t, ev.Summary, ev.Source, ev.Component, ev.Group, ev.Class, ev.DedupKey)
		checkDetails(t, ev.Details)
		checkUTC(t, ev.Timestamp)
		if ev.Action == klaxon.ActionTrigger && strings.TrimSpace(ev.Source) == "" {
			t.Fatal("accepted a trigger without source")
		}
	})
}

func FuzzDecodePagerDutyChange(f *testing.F) {
	for _, tc := range pdChangeGood {
		f.Add([]byte(tc.body))
	}
	for _, tc := range pdChangeBad {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		key, ev, problems := DecodePagerDutyChange(body)
		if len(problems) > 0 {
			checkProblems(t, problems)
			if !reflect.DeepEqual(ev, klaxon.ChangeEvent{}) {
				t.Fatalf("an event came with the problems %q", problems)
			}
			return
		}
		if utf8.RuneCountInString(key) != routingKeyLength {
			t.Fatalf("accepted routing key %q", key)
		}
		if strings.TrimSpace(ev.Summary) == "" || utf8.RuneCountInString(ev.Summary) > klaxon.MaxSummaryLength {
			t.Fatalf("accepted summary %q", ev.Summary)
		}
		if utf8.RuneCountInString(ev.Source) > klaxon.MaxFieldLength {
			t.Fatalf("accepted a source of %d characters", utf8.RuneCountInString(ev.Source))
		}
		if len(ev.Links) > klaxon.MaxLinks {
			t.Fatalf("accepted %d links", len(ev.Links))
		}
		for _, l := range ev.Links {
			if strings.TrimSpace(l.Href) == "" {
				t.Fatal("accepted a link without href")
			}
			checkDecoded(t, l.Href, l.Text)
		}
		checkDecoded(t, ev.Summary, ev.Source)
		checkDetails(t, ev.Details)
		checkUTC(t, ev.Timestamp)
	})
}

// checkScanner holds the raw JSON walk to encoding/json's verdict: on every
// valid body it finds the end of the value where encoding/json does.
func checkScanner(t *testing.T, body []byte) {
	t.Helper()
	start := skipSpace(body, 0)
	end := valueEnd(body, start)
	if json.Valid(body) && (end < 0 || skipSpace(body, end) != len(body)) {
		t.Fatalf("valueEnd = %d on valid JSON of %d bytes", end, len(body))
	}
	_ = pathAt(body, len(body)/2)
}

func checkFuzzError(t *testing.T, err error, fieldPrefix string) {
	t.Helper()
	e, ok := err.(*klaxon.Error)
	if !ok {
		t.Fatalf("error %T %v is not a *klaxon.Error", err, err)
	}
	if e.Message == "" || e.Field == "" || !strings.HasPrefix(e.Field, fieldPrefix) {
		t.Fatalf("error %q: %q does not name a field under %q", e.Field, e.Message, fieldPrefix)
	}
	if e.Code != klaxon.EINVALID && e.Code != klaxon.ETOOLARGE {
		t.Fatalf("error code %s", e.Code)
	}
}

func checkProblems(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		if p == "" {
			t.Fatalf("empty problem in %q", problems)
		}
	}
}

func checkNativeEvent(t *testing.T, ev klaxon.Event) {
	t.Helper()
	if err := ev.Validate(klaxon.NativeFieldNames); err != nil {
		t.Fatalf("accepted an invalid event: %v", err)
	}
	checkDecoded(t, string(ev.Action), ev.DedupKey, ev.Summary, string(ev.Severity), ev.Source, ev.Component, ev.Group, ev.Class)
	for _, l := range ev.Links {
		checkDecoded(t, l.Href, l.Text)
	}
	for _, im := range ev.Images {
		checkDecoded(t, im.Src, im.Href, im.Alt)
	}
	checkDetails(t, ev.Details)
	checkUTC(t, ev.Timestamp)
}

// checkDecoded asserts what storage needs of text: valid UTF-8, no NUL.
func checkDecoded(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("accepted text %q", s)
		}
	}
}

// checkDetails asserts that details are nothing or a valid JSON object.
func checkDetails(t *testing.T, d json.RawMessage) {
	t.Helper()
	if d == nil {
		return
	}
	if !json.Valid(d) || d[0] != '{' || !utf8.Valid(d) || hasNULEscape(d) {
		t.Fatalf("accepted details %q", d)
	}
}

func checkUTC(t *testing.T, ts time.Time) {
	t.Helper()
	if !ts.IsZero() && ts.Location() != time.UTC {
		t.Fatalf("timestamp %v is not in UTC", ts)
	}
}

// encodeNative writes an event back in the native format.
func encodeNative(t *testing.T, ev klaxon.Event) []byte {
	t.Helper()
	w := struct {
		Action    string          `json:"action,omitempty"`
		DedupKey  string          `json:"dedup_key,omitempty"`
		Summary   string          `json:"summary,omitempty"`
		Severity  string          `json:"severity,omitempty"`
		Source    string          `json:"source,omitempty"`
		Component string          `json:"component,omitempty"`
		Group     string          `json:"group,omitempty"`
		Class     string          `json:"class,omitempty"`
		Details   json.RawMessage `json:"details,omitempty"`
		Links     []wireLink      `json:"links,omitempty"`
		Images    []wireImage     `json:"images,omitempty"`
		Timestamp string          `json:"timestamp,omitempty"`
	}{
		Action: string(ev.Action), DedupKey: ev.DedupKey, Summary: ev.Summary, Severity: string(ev.Severity),
		Source: ev.Source, Component: ev.Component, Group: ev.Group, Class: ev.Class, Details: ev.Details,
	}
	for _, l := range ev.Links {
		w.Links = append(w.Links, wireLink(l))
	}
	for _, im := range ev.Images {
		w.Images = append(w.Images, wireImage(im))
	}
	if !ev.Timestamp.IsZero() {
		w.Timestamp = ev.Timestamp.Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatalf("encoding %+v: %v", ev, err)
	}
	return b
}

// normalized compacts the details, which re-encoding may re-space.
func normalized(ev klaxon.Event) klaxon.Event {
	if ev.Details != nil {
		var buf bytes.Buffer
		if err := json.Compact(&buf, ev.Details); err == nil {
			ev.Details = buf.Bytes()
		}
	}
	return ev
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
