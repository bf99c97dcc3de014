package api

import (
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

// defaultNodeAlive is how recently a node must have recorded itself to be
// listed as alive, when Config.NodeAliveWithin is zero: three of serve's
// 5 s heartbeats.
const defaultNodeAlive = 15 * time.Second

type nodeJSON struct {
	ID        string    `json:"id"`
	Version   string    `json:"version"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	Alive     bool      `json:"alive"`
}

// cluster lists the nodes sharing this database, so that an operator can
// see from any node which nodes run, which version each runs, and which
// stopped answering.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	nodes, err := s.store.ListNodes(r.Context(), s.clock.Now(), s.nodeAlive)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": mapJSON(nodes, toNodeJSON)})
}

func toNodeJSON(n klaxon.Node) nodeJSON {
	return nodeJSON{ID: n.ID, Version: n.Version, Host: n.Host, PID: n.PID, StartedAt: n.StartedAt, LastSeen: n.LastSeen, Alive: n.Alive}
}
