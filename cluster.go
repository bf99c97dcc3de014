package klaxon

import "time"

// Node is one Klaxon process sharing the database with others (a cluster
// member on PostgreSQL; the only one on SQLite). Each node records itself
// every few seconds, so that an operator can see which nodes run, which
// version each runs (during a rolling upgrade), and which have stopped
// answering.
type Node struct {
	// ID names the node for as long as its process runs: host, pid and a
	// random part, the same id that names its leases on work.
	ID      string
	Version string
	Host    string
	PID     int
	// StartedAt is when the process started; LastSeen when it last
	// recorded itself.
	StartedAt, LastSeen time.Time
	// Alive says that the node recorded itself recently enough to be
	// counted as running (a listing decides how recent).
	Alive bool
}

// Validate checks what a node says about itself: an id is required, and
// every field is bounded text.
func (n *Node) Validate() error {
	if err := ValidateName("id", n.ID); err != nil {
		return err
	}
	for _, f := range []struct{ field, value string }{{"version", n.Version}, {"host", n.Host}} {
		if err := checkText(f.field, f.value, MaxNameLength); err != nil {
			return err
		}
	}
	if n.PID < 0 {
		return FieldError("pid", "must not be negative, got %d", n.PID)
	}
	return nil
}
