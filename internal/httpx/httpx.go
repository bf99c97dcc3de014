// Package httpx holds the HTTP middleware every Klaxon listener shares:
// panic recovery, request ids, access logs and request metrics.
package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies middleware so that the first listed runs outermost.
func Chain(h http.Handler, mw ...Middleware) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// StatusRecorder remembers the status a handler wrote.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records the status and passes it on.
func (r *StatusRecorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (r *StatusRecorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *StatusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// RequestIDHeader carries the request id, taken from the caller when given
// (so a proxy's id follows the request) or made up.
const RequestIDHeader = "X-Request-Id"

// Observe is the one per-request middleware: it assigns the request id,
// recovers panics as 500s (a bug in one handler must not take the process
// down), counts and times the request under its route pattern, and logs it.
// Successful requests are logged at debug level: at tens of thousands of
// events per second an info line each would cost more than the event.
func Observe(log *slog.Logger, reg prometheus.Registerer) Middleware {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "klaxon_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "klaxon_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	reg.MustRegister(requests, duration)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get(RequestIDHeader)
			if id == "" || len(id) > 64 {
				id = newRequestID()
			}
			w.Header().Set(RequestIDHeader, id)
			rec := &StatusRecorder{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.Error("panic in handler", "request_id", id, "method", r.Method, "path", LoggedPath(r), "panic", p)
					if rec.Status == 0 {
						rec.Header().Set("Content-Type", "application/json")
						rec.WriteHeader(http.StatusInternalServerError)
						rec.Write([]byte(`{"error":{"code":"internal","message":"internal error"}}` + "\n"))
					}
				}
				if rec.Status == 0 {
					rec.Status = http.StatusOK
				}
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				elapsed := time.Since(start)
				requests.WithLabelValues(route, strconv.Itoa(rec.Status)).Inc()
				duration.WithLabelValues(route).Observe(elapsed.Seconds())
				level := slog.LevelDebug
				if rec.Status >= 500 {
					level = slog.LevelWarn
				} else if rec.Status >= 400 {
					level = slog.LevelInfo
				}
				if log.Enabled(r.Context(), level) {
					log.Log(r.Context(), level, "http request", "request_id", id, "method", r.Method, "path", LoggedPath(r),
						"route", route, "status", rec.Status, "duration_ms", float64(elapsed.Microseconds())/1000, "remote", r.RemoteAddr)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// LoggedPath is the request's path as logs may show it: the route's
// pattern instead when the path carries a credential (a response link's
// token, a calendar feed's file name, a subscription link), which a log
// reader must not be able to replay.
func LoggedPath(r *http.Request) string {
	if strings.Contains(r.Pattern, "{token}") || strings.Contains(r.Pattern, "{file}") {
		if _, path, ok := strings.Cut(r.Pattern, " "); ok {
			return path
		}
		return r.Pattern
	}
	return r.URL.Path
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
