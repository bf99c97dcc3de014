package statuspage

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: Requests per Per on average, in bursts of up to
// Burst (Requests when zero). A negative Requests means no limit; zero
// Requests, or a Per that is not positive, means the default.
type Rate struct {
	Requests int
	Per      time.Duration
	Burst    int
}

// SubscribeLimit throttles POST /subscribe, which makes Klaxon send an
// email to the address given and store a row: each request takes a token
// from its client's bucket and then from the global one. The zero value
// is the defaults.
type SubscribeLimit struct {
	// PerClient is each client's bucket (its IP address; for IPv6, its
	// /64): 5 per 10 minutes, bursts of 5, by default.
	PerClient Rate
	// Global is everyone's together: 60 per minute, bursts of 60, by
	// default.
	Global Rate
	// MaxClients bounds the table of client buckets: 10,000 by default.
	MaxClients int
}

var (
	defaultSubscribePerClient = Rate{Requests: 5, Per: 10 * time.Minute, Burst: 5}
	defaultSubscribeGlobal    = Rate{Requests: 60, Per: time.Minute, Burst: 60}
)

const defaultSubscribeMaxClients = 10_000

// bucket is r's limit and burst; burst 0 for no limit.
func (r Rate) bucket(def Rate) (rate.Limit, int) {
	if r.Requests < 0 {
		return 0, 0
	}
	if r.Requests == 0 || r.Per <= 0 {
		r = def
	}
	if r.Burst <= 0 {
		r.Burst = r.Requests
	}
	return rate.Limit(float64(r.Requests) / r.Per.Seconds()), r.Burst
}

// subscribeLimiter holds the buckets of POST /subscribe.
type subscribeLimiter struct {
	clientLimit rate.Limit
	clientBurst int           // 0: no per-client limit
	global      *rate.Limiter // nil: no global limit
	maxClients  int

	mu      sync.Mutex
	clients map[netip.Prefix]*rate.Limiter
}

func newSubscribeLimiter(cfg SubscribeLimit) *subscribeLimiter {
	l := &subscribeLimiter{maxClients: cfg.MaxClients, clients: map[netip.Prefix]*rate.Limiter{}}
	if l.maxClients <= 0 {
		l.maxClients = defaultSubscribeMaxClients
	}
	l.clientLimit, l.clientBurst = cfg.PerClient.bucket(defaultSubscribePerClient)
	if limit, burst := cfg.Global.bucket(defaultSubscribeGlobal); burst > 0 {
		l.global = rate.NewLimiter(limit, burst)
	}
	return l
}

// allow takes a token at now for a request from remoteAddr (a
// Request.RemoteAddr), first from the client's bucket and then from the
// global one, or says how long until the client may try again. A request
// its client's bucket refuses takes nothing from the global bucket, so one
// client hammering the form does not lock everyone else out.
func (l *subscribeLimiter) allow(remoteAddr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var client *rate.Reservation
	if l.clientBurst > 0 {
		key := clientKey(remoteAddr)
		b := l.clients[key]
		if b == nil {
			if len(l.clients) >= l.maxClients {
				l.prune(now)
			}
			b = rate.NewLimiter(l.clientLimit, l.clientBurst)
			l.clients[key] = b
		}
		client = b.ReserveN(now, 1)
		if d := client.DelayFrom(now); d > 0 {
			client.CancelAt(now)
			return false, d
		}
	}
	if l.global != nil {
		res := l.global.ReserveN(now, 1)
		if d := res.DelayFrom(now); d > 0 {
			res.CancelAt(now)
			if client != nil {
				client.CancelAt(now) // the request was not served: give the client its token back
			}
			return false, d
		}
	}
	return true, 0
}

// prune makes room in the full table of clients. It forgets first the
// clients whose bucket has filled up again: that changes nothing, as a new
// bucket starts full. If that frees less than a tenth of the table (many
// clients active at once, as in a flood from many addresses) it forgets
// them all instead: memory stays bounded, and the sweep, a pass over the
// whole table, runs at most once per tenth of it. Forgetting active
// clients lets them start again with a full bucket; the global bucket
// still bounds what all of them together can do.
func (l *subscribeLimiter) prune(now time.Time) {
	before := len(l.clients)
	for key, b := range l.clients {
		if b.TokensAt(now) >= float64(l.clientBurst) {
			delete(l.clients, key)
		}
	}
	if before-len(l.clients) < max(before/10, 1) {
		clear(l.clients)
	}
}

// clientKey is the bucket a request from remoteAddr counts against: its
// IP address, or for IPv6 its /64, since one host (or one customer of an
// ISP) commonly has a whole /64 to pick addresses from.
//
// This is the host of Request.RemoteAddr, the peer of the connection, and
// deliberately nothing a client sends: X-Forwarded-For, X-Real-IP and
// Forwarded are not trusted, since anyone can write them and a fresh value
// per request would be a fresh bucket per request. Behind a reverse proxy
// every visitor therefore shares the proxy's bucket (see the package
// comment). An address that does not parse (a Unix socket) counts against
// one shared bucket.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap().WithZone("")
	bits := addr.BitLen()
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}
