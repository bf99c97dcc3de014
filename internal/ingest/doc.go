// Package ingest turns wire payloads into klaxon events: Klaxon's native JSON
// (one event or a batch) and PagerDuty's Events API v2 (alert and change
// events).
//
// The decoders are pure: no I/O, no clock, no generated IDs and no state
// besides constant tables, so they can be fuzzed and called from any
// goroutine. They sit on the hot ingest path, so each decodes with
// encoding/json into a small private wire struct and then walks the raw
// bytes once more, without allocating, to find what encoding/json does not
// report (unknown fields, the index of a bad array element, the field that
// holds an invalid byte).
//
// Errors name the sender's own field: the native decoders return
// *klaxon.Error values with Field set to the JSON path ("links[2].href"), and
// the PagerDuty decoders return the list of problems PagerDuty itself would
// answer with.
package ingest
