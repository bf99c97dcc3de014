package store

// ListenerPID is the backend pid of s's listening connection: 0 on SQLite
// and while it reconnects. The cluster tests kill it to see it come back.
func ListenerPID(s *Store) uint32 {
	if s.listen == nil {
		return 0
	}
	return s.listen.pid.Load()
}
