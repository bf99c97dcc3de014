package api

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon"
)

// metrics are the API's own counters, beside httpx's per-route ones.
type metrics struct {
	eventsAccepted *prometheus.CounterVec // by action
	eventsRejected *prometheus.CounterVec // by error code
	// acceptedBy holds the accepted counter of each action, looked up once
	// rather than per event on the hot path.
	acceptedBy map[klaxon.Action]prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, store Store) *metrics {
	m := &metrics{
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_events_accepted_total", Help: "Events durably stored, by action.",
		}, []string{"action"}),
		eventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_events_rejected_total", Help: "Events refused, by error code.",
		}, []string{"code"}),
	}
	m.acceptedBy = map[klaxon.Action]prometheus.Counter{}
	for _, a := range []klaxon.Action{klaxon.ActionTrigger, klaxon.ActionAcknowledge, klaxon.ActionResolve} {
		m.acceptedBy[a] = m.eventsAccepted.WithLabelValues(string(a))
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "klaxon_ingest_queue_events", Help: "Events waiting for group commit.",
	}, func() float64 { return float64(store.IngestQueueLength()) })
	reg.MustRegister(m.eventsAccepted, m.eventsRejected, queue,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// healthz says the process is alive and serving HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// readyz says whether this node can do its job: the database answers, and
// the self-test's last synthetic event became a notification.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "canary": "off"}
	ready := true
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		checks["database"], ready = "unreachable", false
	}
	if s.selfTest != nil {
		checks["canary"] = "ok"
		if err := s.selfTest(); err != nil {
			checks["canary"], ready = "failing: "+err.Error(), false
		}
	}
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
