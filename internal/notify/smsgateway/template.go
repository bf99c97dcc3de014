package smsgateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"text/template"
)

// Data is what the URL and Body templates see.
type Data struct {
	// To is the recipient's E.164 number.
	To string
	// Text is the message: notify.ShortText without reply instructions,
	// since a generic gateway passes no replies back.
	Text string
	// IdempotencyKey is the notification job's key, the same on every
	// retry, for gateways that drop duplicates by a reference of their own.
	IdempotencyKey string
}

// funcs are the template functions that make a value safe where it goes:
//
//	query  escapes a value for a URL's query: to={{query .To}}
//	json   writes a value as a JSON literal, quotes included: {"to": {{json .To}}}
//	form   writes name/value pairs as a form body: {{form "to" .To "text" .Text}}
//
// text/template escapes nothing by itself, so a template that inserts .Text
// without one of these breaks on the first quote or ampersand in a summary.
func funcs() template.FuncMap {
	return template.FuncMap{
		"query": url.QueryEscape,
		"json":  jsonLiteral,
		"form":  formEncode,
	}
}

// jsonLiteral renders v as JSON. Strings become string literals with
// quotes, backslashes, newlines and control characters escaped; <, > and &
// are left as they are, which JSON allows and gateways read more easily.
func jsonLiteral(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// formEncode renders name/value pairs as application/x-www-form-urlencoded,
// in the order given.
func formEncode(pairs ...string) (string, error) {
	if len(pairs)%2 != 0 {
		return "", errors.New("form takes name and value pairs")
	}
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String(), nil
}

// render executes t with d.
func render(t *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// parsePath splits a dotted JSON path ("data.id", "messages.0.id").
func parsePath(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return nil, false
		}
	}
	return parts, true
}

// maxIDBytes bounds a message id taken from an answer; a longer one is not
// an id.
const maxIDBytes = 256

// extractID follows path through a JSON answer and returns the string or
// number it ends at; anything else (no such field, not JSON, an object)
// gives "". A numeric part indexes an array.
func extractID(body []byte, path []string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	for _, p := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(node) {
				return ""
			}
			v = node[i]
		default:
			return ""
		}
	}
	var id string
	switch x := v.(type) {
	case string:
		id = x
	case json.Number:
		id = x.String()
	}
	if len(id) > maxIDBytes {
		return ""
	}
	return id
}
