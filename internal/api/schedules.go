package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// Schedules on the wire. Layers keep the text the person wrote ("09:00",
// "mon"); users are ids, as strings like every id.

type layerJSON struct {
	Name         string            `json:"name"`
	Start        string            `json:"start"`
	Rotation     rotationJSON      `json:"rotation"`
	Users        []string          `json:"users"`
	Restrictions []restrictionJSON `json:"restrictions"`
}

type rotationJSON struct {
	Unit  string `json:"unit"`
	Every int    `json:"every"`
}

type restrictionJSON struct {
	Days []string `json:"days"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

type scheduleJSON struct {
	ID          int64       `json:"id,string"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	TimeZone    string      `json:"time_zone"`
	Layers      []layerJSON `json:"layers"`
	ICalURL     string      `json:"ical_url"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

func toScheduleJSON(sc klaxon.Schedule, icalURL string) scheduleJSON {
	out := scheduleJSON{ID: sc.ID, Name: sc.Name, Description: sc.Description, TimeZone: sc.TimeZone,
		Layers: make([]layerJSON, 0, len(sc.Layers)), ICalURL: icalURL, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt}
	for _, l := range sc.Layers {
		lj := layerJSON{Name: l.Name, Start: l.Start, Rotation: rotationJSON{Unit: l.RotationUnit, Every: l.RotationEvery},
			Users: make([]string, 0, len(l.UserIDs)), Restrictions: make([]restrictionJSON, 0, len(l.Restrictions))}
		for _, id := range l.UserIDs {
			lj.Users = append(lj.Users, fmt.Sprint(id))
		}
		for _, r := range l.Restrictions {
			days := r.Days
			if days == nil {
				days = []string{}
			}
			lj.Restrictions = append(lj.Restrictions, restrictionJSON{Days: days, From: r.From, To: r.To})
		}
		out.Layers = append(out.Layers, lj)
	}
	return out
}

// fromLayersJSON converts layers from a request, naming the field of any
// malformed user id.
func fromLayersJSON(in []layerJSON) ([]klaxon.ScheduleLayer, error) {
	out := make([]klaxon.ScheduleLayer, 0, len(in))
	for i, lj := range in {
		l := klaxon.ScheduleLayer{Name: lj.Name, Start: lj.Start, RotationUnit: lj.Rotation.Unit, RotationEvery: lj.Rotation.Every}
		for j, raw := range lj.Users {
			id, err := parseID(fmt.Sprintf("layers[%d].users[%d]", i, j), raw)
			if err != nil {
				return nil, err
			}
			l.UserIDs = append(l.UserIDs, id)
		}
		for _, r := range lj.Restrictions {
			l.Restrictions = append(l.Restrictions, klaxon.Restriction{Days: r.Days, From: r.From, To: r.To})
		}
		out = append(out, l)
	}
	return out, nil
}

type createScheduleRequest struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	TimeZone    string      `json:"time_zone"`
	Layers      []layerJSON `json:"layers"`
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	var req createScheduleRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	layers, err := fromLayersJSON(req.Layers)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sc := klaxon.Schedule{Name: req.Name, Description: req.Description, TimeZone: req.TimeZone, Layers: layers}
	if err := s.store.CreateSchedule(r.Context(), principalFrom(r.Context()).actor(), &sc); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSchedule(w, r, http.StatusCreated, sc)
}

func (s *Server) writeSchedule(w http.ResponseWriter, r *http.Request, status int, sc klaxon.Schedule) {
	url, err := s.feedURL(r, klaxon.FeedSchedule, sc.ID, sc.FeedGeneration)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, toScheduleJSON(sc, url))
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	p, err := pageFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.ListSchedules(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	urls := make(map[int64]string, len(list))
	for _, sc := range list {
		if urls[sc.ID], err = s.feedURL(r, klaxon.FeedSchedule, sc.ID, sc.FeedGeneration); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writePage(w, p, "schedules", list, func(sc klaxon.Schedule) int64 { return sc.ID },
		func(sc klaxon.Schedule) scheduleJSON { return toScheduleJSON(sc, urls[sc.ID]) })
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.scheduleFromPath(w, r)
	if !ok {
		return
	}
	s.writeSchedule(w, r, http.StatusOK, sc)
}

func (s *Server) scheduleFromPath(w http.ResponseWriter, r *http.Request) (klaxon.Schedule, bool) {
	id, err := pathID(r, "id", "schedule")
	if err != nil {
		s.writeError(w, r, err)
		return klaxon.Schedule{}, false
	}
	sc, err := s.store.Schedule(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return sc, false
	}
	return sc, true
}

type patchScheduleRequest struct {
	Name        *string      `json:"name"`
	Description *string      `json:"description"`
	TimeZone    *string      `json:"time_zone"`
	Layers      *[]layerJSON `json:"layers"`
}

func (s *Server) patchSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "schedule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req patchScheduleRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	patch := klaxon.SchedulePatch{Name: req.Name, Description: req.Description, TimeZone: req.TimeZone}
	if req.Layers != nil {
		layers, err := fromLayersJSON(*req.Layers)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		patch.Layers = &layers
	}
	sc, err := s.store.UpdateSchedule(r.Context(), principalFrom(r.Context()).actor(), id, patch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSchedule(w, r, http.StatusOK, sc)
}

// createOverrideRequest keeps start and end as text, so that a malformed
// time is named by its field (encoding/json's own time errors name none).
type createOverrideRequest struct {
	UserID string `json:"user_id"`
	Start  string `json:"start"`
	End    string `json:"end"`
}

type overrideJSON struct {
	ID         int64     `json:"id,string"`
	ScheduleID int64     `json:"schedule_id,string"`
	UserID     int64     `json:"user_id,string"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	CreatedAt  time.Time `json:"created_at"`
}

func toOverrideJSON(o klaxon.Override) overrideJSON {
	return overrideJSON{ID: o.ID, ScheduleID: o.ScheduleID, UserID: o.UserID, Start: o.Start, End: o.End, CreatedAt: o.CreatedAt}
}

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request) {
	scheduleID, err := pathID(r, "id", "schedule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req createOverrideRequest
	if err := decodeStrict(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, err := parseID("user_id", req.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o := klaxon.Override{ScheduleID: scheduleID, UserID: userID}
	if o.Start, err = parseInstant("start", req.Start); err != nil {
		s.writeError(w, r, err)
		return
	}
	if o.End, err = parseInstant("end", req.End); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.store.CreateOverride(r.Context(), principalFrom(r.Context()).actor(), &o); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toOverrideJSON(o))
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.scheduleFromPath(w, r)
	if !ok {
		return
	}
	from, to, err := timeRange(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.Overrides(r.Context(), sc.ID, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"overrides": mapJSON(list, toOverrideJSON)})
}

// compiled loads what a schedule needs to answer for [from, to): its layers
// and the overrides that overlap the range.
func (s *Server) compiled(ctx context.Context, sc klaxon.Schedule, from, to time.Time) (*schedule.Schedule, error) {
	overrides, err := s.store.Overrides(ctx, sc.ID, from, to)
	if err != nil {
		return nil, err
	}
	return s.zones.Compile(sc, overrides)
}

type oncallUserJSON struct {
	ID       int64  `json:"id,string"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	TimeZone string `json:"time_zone"`
}

// scheduleOnCall answers who is on call on one schedule at ?at= (now by
// default): {"users": […]}, empty when the instant falls in a gap.
func (s *Server) scheduleOnCall(w http.ResponseWriter, r *http.Request) {
	sc, ok := s.scheduleFromPath(w, r)
	if !ok {
		return
	}
	at, err := instantParam(r, "at", s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	compiled, err := s.compiled(r.Context(), sc, at, at.Add(time.Microsecond))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users := []oncallUserJSON{}
	if id, ok := compiled.OnCallAt(at); ok {
		u, err := s.store.User(r.Context(), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		users = append(users, oncallUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, TimeZone: u.TimeZone})
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule_id": fmt.Sprint(sc.ID), "at": at, "users": users})
}

type shiftJSON struct {
	UserID int64     `json:"user_id,string"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

type intervalJSON struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (s *Server) scheduleShifts(w http.ResponseWriter, r *http.Request) {
	s.answerRange(w, r, "shifts", func(c *schedule.Schedule, from, to time.Time) any {
		return mapJSON(c.Shifts(from, to), func(sh schedule.Shift) shiftJSON {
			return shiftJSON{UserID: sh.UserID, Start: sh.Start, End: sh.End}
		})
	})
}

func (s *Server) scheduleGaps(w http.ResponseWriter, r *http.Request) {
	s.answerRange(w, r, "gaps", func(c *schedule.Schedule, from, to time.Time) any {
		return mapJSON(c.Gaps(from, to), func(g schedule.Interval) intervalJSON { return intervalJSON{Start: g.Start, End: g.End} })
	})
}

// answerRange answers a question about one schedule over ?from=&to=:
// {"schedule_id","from","to",name: answer(…)}.
func (s *Server) answerRange(w http.ResponseWriter, r *http.Request, name string, answer func(c *schedule.Schedule, from, to time.Time) any) {
	sc, ok := s.scheduleFromPath(w, r)
	if !ok {
		return
	}
	from, to, err := timeRange(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	compiled, err := s.compiled(r.Context(), sc, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule_id": fmt.Sprint(sc.ID), "from": from, "to": to, name: answer(compiled, from, to)})
}

// maxQueryRange bounds the range of one shifts or gaps query, so that one
// request cannot ask for centuries of hourly shifts.
const maxQueryRange = 366 * 24 * time.Hour

// timeRange reads ?from= and ?to= (RFC 3339). When required is false both
// may be absent, meaning everything.
func timeRange(r *http.Request, required bool) (from, to time.Time, err error) {
	q := r.URL.Query()
	if !required && q.Get("from") == "" && q.Get("to") == "" {
		return time.Time{}, time.Time{}, nil
	}
	if from, err = instantParam(r, "from", time.Time{}); err != nil {
		return
	}
	if to, err = instantParam(r, "to", time.Time{}); err != nil {
		return
	}
	// Presence is read from the query, not from a zero time: an explicit
	// 0001-01-01T00:00:00Z is given, not missing.
	switch {
	case q.Get("from") == "":
		err = klaxon.FieldError("from", "is required (RFC 3339, such as 2026-03-07T09:00:00Z)")
	case q.Get("to") == "":
		err = klaxon.FieldError("to", "is required (RFC 3339, such as 2026-03-14T09:00:00Z)")
	case !to.After(from):
		err = klaxon.FieldError("to", "must be after from")
	case to.Sub(from) > maxQueryRange:
		err = klaxon.FieldError("to", "must be at most 366 days after from")
	}
	return
}

// instantParam reads an RFC 3339 query parameter, or def when absent.
func instantParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	return parseInstant(name, raw)
}

// parseInstant reads an RFC 3339 time given in field; empty is the zero
// time, which the store refuses as "is required" where one is.
func parseInstant(field, raw string) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return t, klaxon.FieldError(field, "must be an RFC 3339 time such as 2026-03-07T09:00:00Z, not %q", klaxon.Truncate(raw, 40))
	}
	return t.UTC(), nil
}
