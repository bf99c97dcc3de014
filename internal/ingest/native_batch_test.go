package ingest

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// batchBad are batch bodies refused as a whole.
var batchBad = []struct {
	name    string
	body    string
	code    klaxon.ErrorCode
	message string
}{
	{"empty body", ``, klaxon.EINVALID, "is empty; send a JSON array of events"},
	{"not json", `[{"action":"trigger"}`, klaxon.EINVALID, "is not valid JSON"},
	{"trailing garbage", `[{"action":"acknowledge","dedup_key":"k"}] ]`, klaxon.EINVALID, "after top-level value"},
	{"object", `{"action":"acknowledge","dedup_key":"k"}`, klaxon.EINVALID, "must be a JSON array of events, not object"},
	{"null", `null`, klaxon.EINVALID, "must be a JSON array of events, not null"},
	{"empty array", `[]`, klaxon.EINVALID, "must hold at least one event"},
	{"empty array with spaces", " [ \n ] ", klaxon.EINVALID, "must hold at least one event"},
	{"1001 events", `[` + repeatJoin(`{"action":"acknowledge","dedup_key":"k"}`, 1001) + `]`, klaxon.EINVALID, "holds 1001 events; at most 1000 are allowed"},
	{"over the batch size", `[` + repeatJoin(`"`+strings.Repeat("x", 1<<20)+`"`, 9) + `]`, klaxon.ETOOLARGE, "at most 8388608"},
}

func TestDecodeNativeBatchRefused(t *testing.T) {
	for _, tc := range batchBad {
		t.Run(tc.name, func(t *testing.T) {
			events, errs, err := DecodeNativeBatch([]byte(tc.body))
			checkError(t, err, tc.code, "body", tc.message)
			if events != nil || errs != nil {
				t.Errorf("results came with the error: %d events, %d errors", len(events), len(errs))
			}
		})
	}
}

func TestDecodeNativeBatch(t *testing.T) {
	big := `{"action":"trigger","summary":"s","severity":"info","details":{"x":"` + strings.Repeat("a", klaxon.MaxEventBytes) + `"}}`
	body := `[
		{"action":"trigger","summary":"first","severity":"critical"},
		{"action":"trigger","summary":"s","severity":"high"},
		{"action":"acknowledge","dedup_key":"k2"},
		"not an event",
		{"action":"trigger","summary":"s","severity":"info","bogus":1},
		` + big + `,
		{"action":"trigger","summary":"bad ` + "\xff" + `","severity":"info"},
		{"action":"trigger","summary":"s","severity":"info","links":[{"href":"a"},{"href":1}]},
		{"action":"resolve","dedup_key":"k9"}
	]`
	events, errs, err := DecodeNativeBatch([]byte(body))
	if err != nil {
		t.Fatalf("DecodeNativeBatch: %v", err)
	}
	if len(events) != 9 || len(errs) != 9 {
		t.Fatalf("got %d events and %d errors, want 9 of each", len(events), len(errs))
	}
	good := map[int]klaxon.Event{
		0: {Action: klaxon.ActionTrigger, Summary: "first", Severity: klaxon.SeverityCritical},
		2: {Action: klaxon.ActionAcknowledge, DedupKey: "k2"},
		8: {Action: klaxon.ActionResolve, DedupKey: "k9"},
	}
	bad := map[int]struct {
		code           klaxon.ErrorCode
		field, message string
	}{
		1: {klaxon.EINVALID, "[1].severity", `not "high"`},
		3: {klaxon.EINVALID, "[3]", "must be a JSON object, not string"},
		4: {klaxon.EINVALID, "[4].bogus", "is not a known field"},
		5: {klaxon.ETOOLARGE, "[5]", "at most 524288"},
		6: {klaxon.EINVALID, "[6].summary", "is not valid UTF-8"},
		7: {klaxon.EINVALID, "[7].links[1].href", "must be a string, not number"},
	}
	for i := range events {
		if want, ok := good[i]; ok {
			if errs[i] != nil {
				t.Errorf("[%d]: %v", i, errs[i])
			} else if !eventsEqual(events[i], want) {
				t.Errorf("[%d] = %+v, want %+v", i, events[i], want)
			}
			continue
		}
		w := bad[i]
		checkError(t, errs[i], w.code, w.field, w.message)
		if !eventsEqual(events[i], klaxon.Event{}) {
			t.Errorf("[%d]: an event came with the error: %+v", i, events[i])
		}
	}
}

func TestDecodeNativeBatchAtTheLimit(t *testing.T) {
	body := `[` + repeatJoin(`{"action":"acknowledge","dedup_key":"k"}`, klaxon.MaxBatchEvents) + `]`
	events, errs, err := DecodeNativeBatch([]byte(body))
	if err != nil {
		t.Fatalf("DecodeNativeBatch: %v", err)
	}
	if len(events) != klaxon.MaxBatchEvents {
		t.Fatalf("got %d events, want %d", len(events), klaxon.MaxBatchEvents)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("[%d]: %v", i, e)
		}
	}
}

// A batch of millions of tiny elements is refused by count without holding
// a span per element.
func TestDecodeNativeBatchManyTinyElements(t *testing.T) {
	body := []byte("[" + strings.Repeat("1,", 2_000_000) + "1]")
	allocs := testing.AllocsPerRun(1, func() {
		if _, _, err := DecodeNativeBatch(body); err == nil || !strings.Contains(err.Error(), "2000001 events") {
			t.Fatalf("got %v", err)
		}
	})
	if allocs > 100 {
		t.Fatalf("%v allocations for a refused batch", allocs)
	}
}
