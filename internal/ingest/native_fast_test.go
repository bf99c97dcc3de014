package ingest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// The fast path must read what it accepts exactly as the full decoder
// does, and accept nothing the full decoder refuses.

func FuzzNativeFastPath(f *testing.F) {
	for _, tc := range nativeGood {
		f.Add([]byte(tc.body))
	}
	for _, tc := range nativeBad {
		if len(tc.body) < 4096 {
			f.Add([]byte(tc.body))
		}
	}
	for _, body := range fastPathCases {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastNative(body)
		full, err := decodeNative(body)
		if !ok {
			return // the full decoder decides, as in DecodeNative
		}
		if err != nil {
			t.Fatalf("the fast path accepted what the full decoder refuses (%v):\n%q", err, body)
		}
		if !reflect.DeepEqual(fast, full) {
			t.Fatalf("the fast path read\n%+v\nthe full decoder\n%+v\nfrom %q", fast, full, body)
		}
	})
}

func FuzzNativeBatchFastPath(f *testing.F) {
	var all []string
	for _, tc := range nativeGood {
		all = append(all, tc.body)
		f.Add([]byte("[" + tc.body + "]"))
	}
	for _, body := range fastPathCases {
		f.Add([]byte("[" + body + "," + body + "]"))
	}
	f.Add([]byte("[" + strings.Join(all, ",") + "]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > klaxon.MaxBatchBytes {
			return
		}
		fast, ok := fastNativeBatch(body)
		if !ok {
			return
		}
		// The full batch decoder, with the fast path out of its way.
		full, errs, err := decodeNativeBatchFull(body)
		if err != nil {
			t.Fatalf("the fast path accepted a batch the full decoder refuses (%v):\n%q", err, body)
		}
		for i, e := range errs {
			if e != nil {
				t.Fatalf("the fast path accepted element %d, which the full decoder refuses (%v):\n%q", i, e, body)
			}
		}
		if !reflect.DeepEqual(fast, full) {
			t.Fatalf("the fast path read\n%+v\nthe full decoder\n%+v\nfrom %q", fast, full, body)
		}
	})
}

// fastPathCases are near misses: each is either plain (the fast path reads
// it) or has exactly the thing that must send it to the full decoder.
var fastPathCases = []string{
	`{"action":"trigger","summary":"disk full","severity":"critical"}`,
	` { "action" : "trigger" , "summary" : "disk full" , "severity" : "critical" } `,
	`{"action":"trigger","summary":"Température élevée ☃","severity":"warning","details":{"a":[1,-2.5e3,true,false,null,{"b":"\u00e9\n"}]}}`,
	`{"action":"trigger","summary":"x","severity":"info","links":[{"href":"https://a.example","text":"A"},{"href":"https://b.example"}],"images":[{"src":"https://i.example/x.png","href":"https://i.example","alt":"x"}]}`,
	`{"action":"trigger","summary":"x","severity":"info","links":[]}`,
	`{"action":"trigger","summary":"x","severity":"info","links":[{}]}`,
	`{"action":"trigger","summary":"x","severity":"info","links":[{"href":"https://a.example","href":"https://b.example"}]}`,
	`{"action":"trigger","summary":"x","severity":"info","links":[{"src":"https://a.example"}]}`,
	`{"action":"trigger","summary":"quote \" inside","severity":"info"}`,
	`{"action":"trigger","summary":"x","severity":"info","Summary":"y"}`,
	`{"action":"trigger","summary":"x","severity":"info","summary":"y"}`,
	`{"action":"trigger","summary":null,"severity":"info"}`,
	`{"action":"trigger","summary":"x","severity":"info","details":null}`,
	`{"action":"trigger","summary":"x","severity":"info","details":"text"}`,
	`{"action":"trigger","summary":"x","severity":"info","details":{"n":01}}`,
	`{"action":"trigger","summary":"x","severity":"info","details":{"n":1.}}`,
	`{"action":"trigger","summary":"x","severity":"info","details":{"s":"\u0000"}}`,
	`{"action":"trigger","summary":"x","severity":"info","details":{"s":"\x"}}`,
	`{"action":"trigger","summary":"x","severity":"info","details":{"a":1,}}`,
	`{"action":"trigger","summary":"x","severity":"info","timestamp":"2026-03-04T15:04:05.123+01:00"}`,
	`{"action":"trigger","summary":"x","severity":"info","timestamp":"yesterday"}`,
	`{"action":"trigger","summary":"x","severity":"loud"}`,
	`{"action":"trigger","summary":"` + "\xff" + `","severity":"info"}`,
	`{"action":"trigger","summary":"` + "\t" + `","severity":"info"}`,
	`{"action":"trigger","summary":"x","severity":"info"}x`,
	`{"action":"trigger","summary":"x","severity":"info"`,
	`{"action":"resolve","dedup_key":"k"}`,
	`{}`,
	`[]`,
}

// TestNativeFastPathCases: the near misses decode through DecodeNative as
// the full decoder decodes them, and the plain ones take the fast path.
func TestNativeFastPathCases(t *testing.T) {
	plain := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 19: true, 26: true}
	for i, body := range fastPathCases {
		_, ok := fastNative([]byte(body))
		if ok != plain[i] {
			t.Errorf("case %d %q: fast path %v, want %v", i, body, ok, plain[i])
		}
		got, gotErr := DecodeNative([]byte(body))
		want, wantErr := decodeNative([]byte(body))
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
			t.Errorf("case %d %q: DecodeNative %+v %v, the full decoder %+v %v", i, body, got, gotErr, want, wantErr)
		}
	}
	// A batch with one element the fast path cannot read is decoded whole
	// by the full decoder, which names the bad element.
	batch := "[" + fastPathCases[0] + "," + fastPathCases[21] + "]"
	events, errs, err := DecodeNativeBatch([]byte(batch))
	if err != nil || len(events) != 2 || errs[0] != nil || errs[1] == nil || !strings.HasPrefix(errs[1].(*klaxon.Error).Field, "[1]") {
		t.Errorf("mixed batch: %+v %v %v", events, errs, err)
	}
}

func BenchmarkDecodeNativePlain(b *testing.B) {
	body := []byte(`{"action":"trigger","class":"disk","component":"postgres","dedup_key":"disk/web-000.prod/00000","details":{"threshold":90,"used_pct":90},"group":"prod-eu-west-1","severity":"critical","source":"web-000.prod","summary":"Disk usage on web-000.prod above 90% on /var/lib/postgresql","timestamp":"2026-11-23T10:15:00Z"}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeNative(body); err != nil {
			b.Fatal(err)
		}
	}
}
