package ingest

import (
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// Checks on decoded text that klaxon's Validate does not make but storage
// needs: PostgreSQL refuses NUL in text columns and the \u0000 escape in jsonb,
// so an event holding either would be accepted here and then fail to commit.
// Refusing it at the edge keeps the promise that an accepted event is stored.

// hasNUL reports whether s holds a NUL character.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// hasNULEscape reports whether the JSON text b (valid JSON) holds the escape
// \u0000 in one of its strings. An escaped backslash followed by "u0000" is
// text, not a NUL, and does not count.
func hasNULEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+6 <= len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++ // skip the escaped character
	}
	return false
}

// linksNUL returns the name of the first link field that holds a NUL, or "".
func linksNUL(links []klaxon.Link, name string) string {
	for i, l := range links {
		switch {
		case hasNUL(l.Href):
			return indexed(name, i, "href")
		case hasNUL(l.Text):
			return indexed(name, i, "text")
		}
	}
	return ""
}

// indexed names a field of an array element: "links[2].href".
func indexed(array string, i int, field string) string {
	return array + "[" + strconv.Itoa(i) + "]." + field
}

// truncateRunes shortens s to at most n runes, cutting between runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	runes := 0
	for i := range s {
		if runes == n {
			return s[:i]
		}
		runes++
	}
	return s
}
