package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon"
)

type objectTarget struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	State *string `json:"state"`
	Tags  []string
	Inner *objectInner   `json:"inner"`
	Items []objectInner  `json:"items"`
	At    *time.Time     `json:"at"`
	Raw   []objectRawBag `json:"raw"`
}

type objectInner struct {
	Size  int           `json:"size"`
	Leafs []objectInner `json:"leafs"`
}

// objectRawBag holds free-form JSON, which is not looked into.
type objectRawBag struct {
	Any json.RawMessage `json:"any"`
}

func TestDecodeObject(t *testing.T) {
	for _, tc := range []struct {
		name, body, field string // field "" means valid
	}{
		{"valid", `{"name":"a","count":2,"state":"x"}`, ""},
		{"valid with spaces after", "{\"name\":\"a\"} \n", ""},
		{"null state", `{"state":null}`, ""},
		{"empty body", ``, "body"},
		{"only spaces", "  \n", "body"},
		{"array", `[1,2]`, "body"},
		{"string", `"name"`, "body"},
		{"null", `null`, "body"},
		{"not JSON", `{name: a}`, "body"},
		{"truncated", `{"name":"a"`, "body"},
		{"trailing object", `{"name":"a"}{}`, "body"},
		{"trailing brace", `{"name":"a"}}`, "body"},
		{"unknown field", `{"nmae":"a"}`, "nmae"},
		{"field in another case", `{"NAME":"a"}`, "NAME"},
		{"untagged Go field name", `{"Tags":["x"]}`, "Tags"},
		{"repeated field", `{"name":"a","name":"b"}`, "name"},
		{"wrong type string", `{"name":5}`, "name"},
		{"wrong type number", `{"count":"5"}`, "count"},
		{"fraction for int", `{"count":1.5}`, "count"},
		{"object for string", `{"state":{}}`, "state"},
		// Objects nested where the struct has structs are checked as
		// strictly as the top level, and named by their path.
		{"valid nested", `{"inner":{"size":1,"leafs":[{"size":2}]},"items":[{"size":3},{"leafs":[]}],"at":"2026-03-07T09:00:00Z","raw":[{"any":{"Whatever":1}}]}`, ""},
		{"null nested", `{"inner":null,"items":null,"raw":[null]}`, ""},
		{"unknown nested field", `{"inner":{"sise":1}}`, "inner.sise"},
		{"nested field in another case", `{"items":[{"size":1},{"Size":2}]}`, "items[1].Size"},
		{"repeated nested field", `{"inner":{"size":1,"size":2}}`, "inner.size"},
		{"unknown field two deep", `{"items":[{"leafs":[{"size":1},{"x":1}]}]}`, "items[0].leafs[1].x"},
		{"wrong type nested", `{"items":[{"size":"1"}]}`, "items[0].size"},
		{"array for nested object", `{"inner":[]}`, "inner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v objectTarget
			err := DecodeObject([]byte(tc.body), &v)
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

func TestDecodeObjectClipsLongKeys(t *testing.T) {
	var v objectTarget
	err := DecodeObject([]byte(`{"`+strings.Repeat("k", 10000)+`":1}`), &v)
	if e, ok := klaxon.AsError(err); !ok || len(e.Field) > 4*maxNameInError {
		t.Fatalf("field not clipped: %d bytes", len(e.Field))
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, seed := range []string{`{"name":"a","count":2}`, `{"name":"a","name":"b"}`, `[]`, `{"count":"x"}`, `{`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v objectTarget
		err := DecodeObject(body, &v)
		if err == nil {
			return
		}
		if e, ok := klaxon.AsError(err); !ok || e.Code != klaxon.EINVALID || e.Field == "" || e.Message == "" {
			t.Fatalf("error %#v: want EINVALID naming a field", err)
		}
	})
}
