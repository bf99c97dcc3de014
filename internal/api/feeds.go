package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// Calendar (iCal, RFC 5545) feeds. Calendar clients cannot send a bearer
// token, so the URL carries one: an HMAC of (kind, id, generation) under the
// store's feed key. A feed shows what is on call from feedPast ago to
// feedAhead ahead; clients re-fetch it on their own schedule.
const (
	feedPast  = 30 * 24 * time.Hour
	feedAhead = 180 * 24 * time.Hour
)

// feedRange is the range a feed shows. It starts at a UTC midnight, not at
// the moment of the request, so that the first shift (cut at the start)
// keeps its UID from one fetch to the next.
func feedRange(now time.Time) (from, to time.Time) {
	from = now.Add(-feedPast).UTC().Truncate(24 * time.Hour)
	return from, from.Add(feedPast + feedAhead)
}

var feedPaths = map[klaxon.FeedKind]string{klaxon.FeedSchedule: "/ical/schedules/", klaxon.FeedUser: "/ical/users/"}

// feedKey returns the store's feed key, read once: it never changes, and a
// list of schedules would otherwise read it once per schedule.
func (s *Server) feedKey(r *http.Request) ([]byte, error) {
	if key := s.feedKeyCache.Load(); key != nil {
		return *key, nil
	}
	key, err := s.store.FeedKey(r.Context())
	if err != nil {
		return nil, err
	}
	s.feedKeyCache.Store(&key)
	return key, nil
}

// feedToken is the token in the URL of a feed's generation gen: 128 bits
// of the HMAC, as hex.
func (s *Server) feedToken(r *http.Request, kind klaxon.FeedKind, id, gen int64) (string, error) {
	key, err := s.feedKey(r)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s/%d/%d", kind, id, gen)
	return hex.EncodeToString(mac.Sum(nil)[:16]), nil
}

// currentFeedURL is the URL of a feed's current generation.
func (s *Server) currentFeedURL(r *http.Request, kind klaxon.FeedKind, id int64) (string, error) {
	gen, err := s.store.FeedGeneration(r.Context(), kind, id)
	if err != nil {
		return "", err
	}
	return s.feedURL(r, kind, id, gen)
}

// feedURL is the absolute URL of a feed: on the configured public URL, or
// else on the host the request came to.
func (s *Server) feedURL(r *http.Request, kind klaxon.FeedKind, id, gen int64) (string, error) {
	token, err := s.feedToken(r, kind, id, gen)
	if err != nil {
		return "", err
	}
	base := s.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return fmt.Sprintf("%s%s%d/%s.ics", strings.TrimRight(base, "/"), feedPaths[kind], id, token), nil
}

// checkFeed authenticates a feed request by the token in its URL. A wrong
// token is answered exactly like an unknown feed, so that ids cannot be
// probed.
func (s *Server) checkFeed(r *http.Request, kind klaxon.FeedKind) (int64, error) {
	notFound := klaxon.Errorf(klaxon.ENOTFOUND, "no such calendar feed")
	id, err := pathID(r, "id", string(kind))
	if err != nil {
		return 0, notFound
	}
	file := r.PathValue("file")
	given, ok := strings.CutSuffix(file, ".ics")
	if !ok {
		return 0, notFound
	}
	gen, err := s.store.FeedGeneration(r.Context(), kind, id)
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		return 0, notFound
	}
	if err != nil {
		return 0, err
	}
	want, err := s.feedToken(r, kind, id, gen)
	if err != nil {
		return 0, err
	}
	if !hmac.Equal([]byte(given), []byte(want)) {
		return 0, notFound
	}
	return id, nil
}

func (s *Server) scheduleFeed(w http.ResponseWriter, r *http.Request) {
	id, err := s.checkFeed(r, klaxon.FeedSchedule)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sc, err := s.store.Schedule(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	from, to := feedRange(now)
	compiled, err := s.compiled(r.Context(), sc, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	names := map[int64]string{}
	var events []schedule.CalendarEvent
	for _, sh := range compiled.Shifts(from, to) {
		name, err := s.userName(r, names, sh.UserID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		events = append(events, schedule.CalendarEvent{
			UID:     schedule.EventUID(sc.ID, sh.UserID, sh.Start),
			Summary: "On call: " + name, Start: sh.Start, End: sh.End,
		})
	}
	writeCalendar(w, schedule.Calendar{Name: sc.Name, Stamp: now, Events: events})
}

func (s *Server) userFeed(w http.ResponseWriter, r *http.Request) {
	id, err := s.checkFeed(r, klaxon.FeedUser)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.User(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	from, to := feedRange(now)
	scheduleIDs, err := s.store.SchedulesOfUser(r.Context(), id, from)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var events []schedule.CalendarEvent
	for _, sid := range scheduleIDs {
		sc, err := s.store.Schedule(r.Context(), sid)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		compiled, err := s.compiled(r.Context(), sc, from, to)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, sh := range compiled.Shifts(from, to) {
			if sh.UserID != id {
				continue
			}
			events = append(events, schedule.CalendarEvent{
				UID:     schedule.EventUID(sc.ID, sh.UserID, sh.Start),
				Summary: "On call: " + sc.Name, Start: sh.Start, End: sh.End,
			})
		}
	}
	writeCalendar(w, schedule.Calendar{Name: "On call: " + u.Name, Stamp: now, Events: events})
}

func (s *Server) userName(r *http.Request, cache map[int64]string, id int64) (string, error) {
	if name, ok := cache[id]; ok {
		return name, nil
	}
	u, err := s.store.User(r.Context(), id)
	if err != nil {
		return "", err
	}
	cache[id] = u.Name
	return u.Name, nil
}

func writeCalendar(w http.ResponseWriter, cal schedule.Calendar) {
	body := schedule.RenderICal(cal)
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// rotateFeed starts a new generation of a schedule's or person's feed and
// answers the new URL; the old one stops working at once.
func (s *Server) rotateFeed(kind klaxon.FeedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id", string(kind))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		gen, err := s.store.RotateFeed(r.Context(), principalFrom(r.Context()).actor(), kind, id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		url, err := s.feedURL(r, kind, id, gen)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"ical_url": url})
	}
}

// userFeedURL answers a person's own calendar feed URL. Only that person's
// tokens (or an admin) may see it: the URL is the feed's credential.
func (s *Server) userFeedURL(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	url, err := s.currentFeedURL(r, klaxon.FeedUser, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ical_url": url})
}

func (s *Server) now() time.Time { return s.clock.Now().UTC() }
