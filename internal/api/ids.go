package api

import (
	"strconv"

	"github.com/klaxonhq/klaxon"
)

// parseID reads an id given in a request body. Ids are strings on the wire
// (JavaScript cannot hold every int64), so request types keep them as
// strings and convert here, where the field can be named.
func parseID(field, raw string) (int64, error) {
	if raw == "" {
		return 0, klaxon.FieldError(field, "is required")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, klaxon.FieldError(field, "must be an id such as \"12\", not %q", klaxon.Truncate(raw, 40))
	}
	return id, nil
}
