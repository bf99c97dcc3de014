package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/escalation"
)

// Directory is what the engine reads about people to turn a step's targets
// into notification jobs. The store implements it.
type Directory interface {
	Schedule(ctx context.Context, id int64) (klaxon.Schedule, error)
	Overrides(ctx context.Context, scheduleID int64, from, to time.Time) ([]klaxon.Override, error)
	Team(ctx context.Context, id int64) (klaxon.Team, error)
	User(ctx context.Context, id int64) (klaxon.User, error)
	ListNotificationRules(ctx context.Context, userID int64) ([]klaxon.NotificationRule, error)
}

// decide evaluates one alert's escalation at now: which steps fire, whom
// they page, and when to look again.
func (e *Engine) decide(ctx context.Context, w klaxon.EscalationWork, now time.Time) (klaxon.EscalationOutcome, error) {
	a := w.Alert
	out := klaxon.EscalationOutcome{AlertID: a.ID}
	switch {
	case a.Status == klaxon.AlertResolved:
		out.Done = true
		return out, nil
	case w.Policy == nil:
		out.Done = true
		out.Log = append(out.Log, e.logEntry(now, "paged", "the service has no escalation policy: nobody was paged"))
		return out, nil
	}
	if !w.Snapshot {
		out.Policy = w.Policy
	}
	history := make([]escalation.Event, 0, len(w.History)+1)
	for _, h := range w.History {
		history = append(history, escalation.Event{Kind: escalation.EventKind(h.Kind), At: h.At})
	}
	var ackDeadline time.Time
	if a.Status == klaxon.AlertAcknowledged && w.Service.AckTimeoutMinutes > 0 && a.AcknowledgedAt != nil {
		ackDeadline = a.AcknowledgedAt.Add(time.Duration(w.Service.AckTimeoutMinutes) * time.Minute)
		if !now.Before(ackDeadline) {
			out.Unacknowledge = true
			history = append(history, escalation.Event{Kind: escalation.EventUnacknowledged, At: ackDeadline})
			out.Log = append(out.Log, e.logEntry(ackDeadline, "unacknowledged",
				fmt.Sprintf("the acknowledgement timed out after %d minutes", w.Service.AckTimeoutMinutes)))
			ackDeadline = time.Time{}
		}
	}
	low := a.Urgency == klaxon.UrgencyLow
	plan := escalation.Evaluate(escalation.FromDomain(*w.Policy), history, now, escalation.Options{LowUrgency: low})
	for _, f := range plan.Due {
		key := f.Key()
		if w.Fired[key] {
			continue
		}
		jobs, summary, err := e.page(ctx, a, f, key)
		if err != nil {
			return out, err
		}
		out.Fired = append(out.Fired, klaxon.FiredStep{Key: key, At: f.At})
		out.Notifications = append(out.Notifications, jobs...)
		out.Log = append(out.Log, e.logEntry(f.At, "paged", fmt.Sprintf("step %d (round %d): %s", f.Step+1, f.Round+1, summary)))
	}
	if plan.HasNext {
		out.Next = plan.Next
	}
	if !ackDeadline.IsZero() && (out.Next.IsZero() || ackDeadline.Before(out.Next)) {
		out.Next = ackDeadline
	}
	return out, nil
}

func (e *Engine) logEntry(at time.Time, kind, message string) klaxon.AlertLogEntry {
	return klaxon.AlertLogEntry{At: at, Kind: kind, Actor: "klaxon", Message: message}
}

// page resolves one firing's targets to people at the instant it fires and
// makes a job for each of their notification rules for the alert's
// urgency. summary says whom it paged, for the alert's log.
func (e *Engine) page(ctx context.Context, a klaxon.Alert, f escalation.Firing, key string) ([]klaxon.Notification, string, error) {
	var users []int64
	var notes []string
	for _, t := range f.Targets {
		ids, note, err := e.resolve(ctx, t, f.At)
		if err != nil {
			return nil, "", err
		}
		if note != "" {
			notes = append(notes, note)
		}
		for _, id := range ids {
			if !slices.Contains(users, id) {
				users = append(users, id)
			}
		}
	}
	var jobs []klaxon.Notification
	var paged []string
	for _, uid := range users {
		u, err := e.dir.User(ctx, uid)
		if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
			notes = append(notes, fmt.Sprintf("user %d no longer exists", uid))
			continue
		}
		if err != nil {
			return nil, "", err
		}
		rules, err := e.dir.ListNotificationRules(ctx, uid)
		if err != nil {
			return nil, "", err
		}
		n := 0
		for _, r := range rules {
			if r.Urgency != a.Urgency {
				continue
			}
			n++
			jobs = append(jobs, klaxon.Notification{
				IdempotencyKey:  fmt.Sprintf("a%d.%s.u%d.r%d", a.ID, key, uid, r.ID),
				Kind:            klaxon.NotificationAlert,
				AlertID:         a.ID,
				ServiceID:       a.ServiceID,
				UserID:          uid,
				ContactMethodID: r.ContactMethodID,
				Firing:          key,
				DueAt:           f.At.Add(time.Duration(r.DelayMinutes) * time.Minute),
			})
		}
		if n == 0 {
			notes = append(notes, fmt.Sprintf("%s has no notification rules for %s urgency", u.Name, a.Urgency))
			continue
		}
		paged = append(paged, u.Name)
	}
	summary := "paged nobody"
	if len(paged) > 0 {
		summary = "paged " + strings.Join(paged, ", ")
	}
	if len(notes) > 0 {
		summary += " (" + strings.Join(notes, "; ") + ")"
	}
	return jobs, summary, nil
}

// resolve turns one target into people at instant at: a user is themself, a
// schedule is whoever is on call then, a team is its members.
func (e *Engine) resolve(ctx context.Context, t klaxon.Target, at time.Time) ([]int64, string, error) {
	switch t.Type {
	case klaxon.TargetUser:
		return []int64{t.ID}, "", nil
	case klaxon.TargetTeam:
		team, err := e.dir.Team(ctx, t.ID)
		if err != nil {
			return missing(err, fmt.Sprintf("team %d no longer exists", t.ID))
		}
		ids := make([]int64, 0, len(team.Members))
		for _, m := range team.Members {
			ids = append(ids, m.UserID)
		}
		if len(ids) == 0 {
			return nil, fmt.Sprintf("team %s has no members", team.Name), nil
		}
		return ids, "", nil
	case klaxon.TargetSchedule:
		sc, err := e.dir.Schedule(ctx, t.ID)
		if err != nil {
			return missing(err, fmt.Sprintf("schedule %d no longer exists", t.ID))
		}
		overrides, err := e.dir.Overrides(ctx, sc.ID, at, at.Add(time.Second))
		if err != nil {
			return nil, "", err
		}
		compiled, err := e.zones.Compile(sc, overrides)
		if err != nil {
			return nil, fmt.Sprintf("schedule %s could not be computed: %v", sc.Name, err), nil
		}
		if uid, ok := compiled.OnCallAt(at); ok {
			return []int64{uid}, "", nil
		}
		return nil, fmt.Sprintf("nobody was on call on schedule %s", sc.Name), nil
	}
	return nil, fmt.Sprintf("unknown target type %q", t.Type), nil
}

// missing turns a target that no longer exists into a note on the alert,
// and any other failure into an error: the escalation is then evaluated
// again, rather than a page lost to a passing database error.
func missing(err error, note string) ([]int64, string, error) {
	if klaxon.ErrorCodeOf(err) == klaxon.ENOTFOUND {
		return nil, note, nil
	}
	return nil, "", err
}
