package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/klaxonhq/klaxon"
)

// bearer returns the token of an "Authorization: Bearer …" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// integrationFor authenticates an event sender by its integration key.
func (s *Server) integrationFor(ctx context.Context, key string) (klaxon.Integration, klaxon.Service, error) {
	if key == "" {
		return klaxon.Integration{}, klaxon.Service{}, klaxon.Errorf(klaxon.EUNAUTHORIZED,
			"an integration key is required: send it as 'Authorization: Bearer <key>' or '?key=<key>'")
	}
	e, err := s.keys.get(ctx, key, func(ctx context.Context, hash []byte) (integrationEntry, error) {
		in, svc, err := s.store.IntegrationByKey(ctx, hash)
		return integrationEntry{in, svc}, err
	})
	return e.integration, e.service, s.unavailable(err)
}

type integrationEntry struct {
	integration klaxon.Integration
	service     klaxon.Service
}

// principal is who is calling the management API.
type principal struct {
	token klaxon.APIToken
}

func (p principal) actor() string { return fmt.Sprintf("token:%d (%s)", p.token.ID, p.token.Name) }

type principalKey struct{}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}

// requireRole wraps a management handler: it authenticates the API token and
// refuses callers whose role is below need.
func (s *Server) requireRole(need klaxon.Role, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret := bearer(r)
		if secret == "" {
			s.writeError(w, r, klaxon.Errorf(klaxon.EUNAUTHORIZED, "an API token is required: send 'Authorization: Bearer <token>'"))
			return
		}
		tok, err := s.tokens.get(r.Context(), secret, s.store.APITokenByHash)
		if err != nil {
			s.writeError(w, r, s.unavailable(err))
			return
		}
		if !tok.Role.Allows(need) {
			s.writeError(w, r, klaxon.Errorf(klaxon.EFORBIDDEN, "this needs the %s role; the token has %s", need, tok.Role))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{token: tok})))
	}
}

// secretCache remembers what a secret (integration key or API token)
// resolved to for a short time, so that the hot path does not query the
// database per event. Failures are remembered for a shorter time, so a flood
// of bad keys costs little. Entries expire, which bounds how long a key
// rotated on another node keeps working here; rotations on this node clear
// the cache at once.
type secretCache[V any] struct {
	// gen counts forget calls: a lookup that began before a rotation must
	// not write its stale answer back after the rotation cleared the cache.
	gen      atomic.Uint64
	mu       sync.RWMutex
	entries  map[[32]byte]cacheEntry[V]
	ttl, neg time.Duration
	max      int
}

type cacheEntry[V any] struct {
	value   V
	err     error
	expires time.Time
}

func newSecretCache[V any](ttl time.Duration) *secretCache[V] {
	return &secretCache[V]{entries: map[[32]byte]cacheEntry[V]{}, ttl: ttl, neg: time.Second, max: 100000}
}

func (c *secretCache[V]) get(ctx context.Context, secret string, load func(context.Context, []byte) (V, error)) (V, error) {
	hash := sha256.Sum256([]byte(secret))
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.value, e.err
	}
	gen := c.gen.Load()
	v, err := load(ctx, hash[:])
	if err != nil && klaxon.ErrorCodeOf(err) != klaxon.EUNAUTHORIZED {
		return v, err // a database failure is not cached
	}
	ttl := c.ttl
	if err != nil {
		ttl = c.neg
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	if c.gen.Load() == gen {
		c.entries[hash] = cacheEntry[V]{value: v, err: err, expires: now.Add(ttl)}
	}
	c.mu.Unlock()
	return v, err
}

// forget drops every entry: after a rotation or revocation the old secret
// must stop working on this node now.
func (c *secretCache[V]) forget() {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.entries)
	c.mu.Unlock()
}

// rateLimits holds one token bucket per integration, so that one noisy
// sender is told to slow down (429) before it can starve the others.
type rateLimits struct {
	perSecond rate.Limit
	burst     int
	mu        sync.Mutex
	buckets   map[int64]*rate.Limiter
}

func newRateLimits(perSecond float64, burst int) *rateLimits {
	if burst < klaxon.MaxBatchEvents {
		burst = klaxon.MaxBatchEvents // a full batch must be able to pass
	}
	return &rateLimits{perSecond: rate.Limit(perSecond), burst: burst, buckets: map[int64]*rate.Limiter{}}
}

// allow takes n events from the integration's bucket, or says how long to
// wait before the sender may retry. refund gives the events back when they
// were not stored after all, so that a sender retrying after a 503 is not
// also pushed into 429.
func (l *rateLimits) allow(integrationID int64, n int) (refund func(), err error) {
	noop := func() {}
	if l.perSecond <= 0 {
		return noop, nil
	}
	l.mu.Lock()
	b, ok := l.buckets[integrationID]
	if !ok {
		b = rate.NewLimiter(l.perSecond, l.burst)
		l.buckets[integrationID] = b
	}
	l.mu.Unlock()
	now := time.Now()
	res := b.ReserveN(now, n)
	if !res.OK() {
		return noop, klaxon.Errorf(klaxon.ERATELIMIT, "%d events exceed this integration's burst of %d", n, l.burst)
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return noop, &rateLimited{after: d, err: klaxon.Errorf(klaxon.ERATELIMIT,
			"this integration is over its rate of %.0f events per second; retry after %s", float64(l.perSecond), d.Round(time.Millisecond))}
	}
	return res.Cancel, nil
}

// rateLimited carries how long the sender should wait.
type rateLimited struct {
	after time.Duration
	err   *klaxon.Error
}

func (e *rateLimited) Error() string { return e.err.Error() }
func (e *rateLimited) Unwrap() error { return e.err }

// setRetryAfter sets Retry-After from a rate-limit error, in whole seconds
// rounded up.
func setRetryAfter(w http.ResponseWriter, err error) {
	if rl, ok := err.(*rateLimited); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.after.Seconds()))))
	}
}
