package ingest

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

type objectTarget struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	State *string `json:"state"`
	Tags  []string
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
