package api

import (
	"context"
	"net/http"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The answer of GET /api/v1/oncall has PagerDuty's /oncalls shape: one entry
// per (policy, level, person), saying through which schedule or team the
// person is there.

type refJSON struct {
	ID   int64  `json:"id,string"`
	Name string `json:"name"`
}

type oncallEntryJSON struct {
	EscalationPolicy refJSON        `json:"escalation_policy"`
	EscalationLevel  int            `json:"escalation_level"` // 1 for the first step, as in PagerDuty
	User             oncallUserJSON `json:"user"`
	Schedule         *refJSON       `json:"schedule"`
	Team             *refJSON       `json:"team"`
}

// allOnCall answers who is on call at ?at= (now by default) for every step of
// every escalation policy.
func (s *Server) allOnCall(w http.ResponseWriter, r *http.Request) {
	at, err := instantParam(r, "at", s.now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := &oncallResolver{s: s, ctx: r.Context(), at: at,
		users: map[int64]klaxon.User{}, schedules: map[int64]scheduleAt{}}
	entries := []oncallEntryJSON{}
	for p := (klaxon.Page{Limit: klaxon.MaxPageSize}); ; {
		policies, err := s.store.ListEscalationPolicies(r.Context(), p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, pol := range policies {
			more, err := res.policy(pol)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			entries = append(entries, more...)
		}
		if len(policies) < p.Limit {
			break
		}
		p.Before = policies[len(policies)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at, "oncalls": entries})
}

// scheduleAt is a schedule's name and who is on call on it at one instant.
type scheduleAt struct {
	name   string
	userID int64
	ok     bool
}

// oncallResolver resolves escalation targets to people at one instant,
// loading each schedule and person once per request.
type oncallResolver struct {
	s         *Server
	ctx       context.Context
	at        time.Time
	users     map[int64]klaxon.User
	schedules map[int64]scheduleAt
}

func (o *oncallResolver) policy(pol klaxon.EscalationPolicy) ([]oncallEntryJSON, error) {
	var out []oncallEntryJSON
	for level, step := range pol.Steps {
		for _, t := range step.Targets {
			entry := oncallEntryJSON{EscalationPolicy: refJSON{ID: pol.ID, Name: pol.Name}, EscalationLevel: level + 1}
			var userIDs []int64
			switch t.Type {
			case klaxon.TargetUser:
				userIDs = []int64{t.ID}
			case klaxon.TargetSchedule:
				sa, err := o.schedule(t.ID)
				if err != nil {
					return nil, err
				}
				entry.Schedule = &refJSON{ID: t.ID, Name: sa.name}
				if sa.ok {
					userIDs = []int64{sa.userID}
				}
			case klaxon.TargetTeam:
				team, err := o.s.store.Team(o.ctx, t.ID)
				if err != nil {
					return nil, err
				}
				entry.Team = &refJSON{ID: team.ID, Name: team.Name}
				for _, m := range team.Members {
					userIDs = append(userIDs, m.UserID)
				}
			}
			for _, id := range userIDs {
				u, err := o.user(id)
				if err != nil {
					return nil, err
				}
				e := entry
				e.User = oncallUserJSON{ID: u.ID, Name: u.Name, Email: u.Email, TimeZone: u.TimeZone}
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func (o *oncallResolver) user(id int64) (klaxon.User, error) {
	if u, ok := o.users[id]; ok {
		return u, nil
	}
	u, err := o.s.store.User(o.ctx, id)
	if err != nil {
		return u, err
	}
	o.users[id] = u
	return u, nil
}

func (o *oncallResolver) schedule(id int64) (scheduleAt, error) {
	if sa, ok := o.schedules[id]; ok {
		return sa, nil
	}
	sc, err := o.s.store.Schedule(o.ctx, id)
	if err != nil {
		return scheduleAt{}, err
	}
	compiled, err := o.s.compiled(o.ctx, sc, o.at, o.at.Add(time.Microsecond))
	if err != nil {
		return scheduleAt{}, err
	}
	sa := scheduleAt{name: sc.Name}
	sa.userID, sa.ok = compiled.OnCallAt(o.at)
	o.schedules[id] = sa
	return sa, nil
}
