package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// conforms checks an answer against a schema of the served openapi.json, so
// that the description cannot drift from what the handlers write. It knows
// the parts of JSON Schema the document uses.
func conforms(t *testing.T, e *env, schema string, v any) {
	t.Helper()
	r := e.send(t, request{method: "GET", path: "/api/v1/openapi.json"})
	var doc map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	for _, msg := range schemaErrors(doc, map[string]any{"$ref": "#/components/schemas/" + schema}, v, schema) {
		t.Errorf("answer does not conform to %s: %s", schema, msg)
	}
}

func schemaErrors(doc, s map[string]any, v any, at string) []string {
	if ref, ok := s["$ref"].(string); ok {
		var cur any = doc
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[tok]
		}
		return schemaErrors(doc, cur.(map[string]any), v, at)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, schemaErrors(doc, sub.(map[string]any), v, at)...)
		}
	}
	if one, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range one {
			if len(schemaErrors(doc, sub.(map[string]any), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			bad("%v matches %d of oneOf", v, n)
		}
	}
	kind := "null"
	switch x := v.(type) {
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case float64:
		kind = "number"
		if x == float64(int64(x)) {
			kind = "integer"
		}
	case []any:
		kind = "array"
	case map[string]any:
		kind = "object"
	}
	if typ, ok := s["type"]; ok {
		var types []string
		switch ty := typ.(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				types = append(types, x.(string))
			}
		}
		if !slices.Contains(types, kind) && !(kind == "integer" && slices.Contains(types, "number")) {
			bad("%v is %s, want %v", v, kind, types)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v is not one of %v", v, enum)
	}
	if c, ok := s["const"]; ok && c != v {
		bad("%v is not %v", v, c)
	}
	switch x := v.(type) {
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			bad("%q does not match %s", x, p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				bad("%q is not a date-time", x)
			}
		}
		if s["format"] == "uri" {
			if u, err := url.Parse(x); err != nil || !u.IsAbs() {
				bad("%q is not an absolute URI", x)
			}
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && x < m {
			bad("%v < minimum %v", x, m)
		}
		if m, ok := s["maximum"].(float64); ok && x > m {
			bad("%v > maximum %v", x, m)
		}
	case []any:
		if m, ok := s["maxItems"].(float64); ok && float64(len(x)) > m {
			bad("%d items, more than %v", len(x), m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, el := range x {
				errs = append(errs, schemaErrors(doc, items, el, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, k := range req {
				if _, ok := x[k.(string)]; !ok {
					bad("lacks required %q", k)
				}
			}
		}
		for k, el := range x {
			sub, ok := props[k].(map[string]any)
			if !ok {
				if s["additionalProperties"] == false {
					bad("has %q, which the schema does not list", k)
				}
				continue
			}
			errs = append(errs, schemaErrors(doc, sub, el, at+"."+k)...)
		}
	}
	return errs
}
