package store

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestListenerDelivers: a notification signals the local channel it names
// only when it comes from another node of the same schema; this node's own
// (already signalled at commit), another schema's (another cluster on the
// same database), unknown channels and malformed payloads are ignored.
func TestListenerDelivers(t *testing.T) {
	work, status := make(chan struct{}, 1), make(chan struct{}, 1)
	l := &listener{schema: "klaxon prod", self: "me", signals: map[string]chan struct{}{channelWork: work, channelStatus: status}}
	for _, tc := range []struct {
		channel, payload string
		work, status     bool
	}{
		{channelWork, "klaxon prod other", true, false},
		{channelStatus, "klaxon prod other", false, true},
		{channelWork, "klaxon prod me", false, false},
		{channelWork, "klaxon other", false, false},
		{channelWork, "klaxon staging other", false, false},
		{channelWork, "", false, false},
		{channelWork, "nospace", false, false},
		{"klaxon_unknown", "klaxon prod other", false, false},
	} {
		l.deliver(&pgconn.Notification{Channel: tc.channel, Payload: tc.payload})
		gotWork, gotStatus := len(work) == 1, len(status) == 1
		if gotWork != tc.work || gotStatus != tc.status {
			t.Errorf("%s %q: work %v status %v, want %v %v", tc.channel, tc.payload, gotWork, gotStatus, tc.work, tc.status)
		}
		drainChan(work)
		drainChan(status)
	}
}

func drainChan(c chan struct{}) {
	select {
	case <-c:
	default:
	}
}
