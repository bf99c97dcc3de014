package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Client is the one thing apply needs from a Klaxon server: a JSON request.
// Answers other than 2xx must come back as errors that carry the server's
// message and field.
type Client interface {
	Do(ctx context.Context, method, path string, in, out any) error
}

// The server's objects, as its API shows them. Only the fields apply
// compares or needs are kept.

type remoteUser struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
	TimeZone string `json:"time_zone"`
	Role     string `json:"role"`
}

type remoteContactMethod struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Address string `json:"address"`
}

type remoteRule struct {
	ID              string `json:"id"`
	ContactMethodID string `json:"contact_method_id"`
	DelayMinutes    int    `json:"delay_minutes"`
	Urgency         string `json:"urgency"`
}

type remoteTeam struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Members     []struct {
		UserID string `json:"user_id"`
	} `json:"members"`
}

type remoteLayer struct {
	Name     string `json:"name"`
	Start    string `json:"start"`
	Rotation struct {
		Unit  string `json:"unit"`
		Every int    `json:"every"`
	} `json:"rotation"`
	Users        []string            `json:"users"`
	Restrictions []remoteRestriction `json:"restrictions"`
}

type remoteRestriction struct {
	Days []string `json:"days"`
	From string   `json:"from"`
	To   string   `json:"to"`
}

type remoteSchedule struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	TimeZone    string        `json:"time_zone"`
	Layers      []remoteLayer `json:"layers"`
}

type remoteTarget struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type remoteStep struct {
	DelayMinutes int            `json:"delay_minutes"`
	Targets      []remoteTarget `json:"targets"`
}

type remotePolicy struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Repeat      int          `json:"repeat"`
	Steps       []remoteStep `json:"steps"`
}

type remoteService struct {
	ID                 string  `json:"id"`
	Name               string  `json:"name"`
	Description        string  `json:"description"`
	EscalationPolicyID *string `json:"escalation_policy_id"`
}

type remoteIntegration struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
}

// remote is the server's state, as far as apply cares.
type remote struct {
	users     []remoteUser
	teams     []remoteTeam
	schedules []remoteSchedule
	policies  []remotePolicy
	services  []remoteService

	contactMethods map[string][]remoteContactMethod // by user id, for users in the files
	rules          map[string][]remoteRule
	integrations   map[string][]remoteIntegration // by service id, for services in the files
}

// listAll reads every page of a list endpoint whose answer holds the list
// under name.
func listAll[T any](ctx context.Context, c Client, path, name string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page map[string]json.RawMessage
		if err := c.Do(ctx, "GET", path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var items []T
		if err := json.Unmarshal(page[name], &items); err != nil {
			return nil, fmt.Errorf("reading %s: unexpected answer: %w", path, err)
		}
		all = append(all, items...)
		var next string
		if raw, ok := page["next_cursor"]; !ok || json.Unmarshal(raw, &next) != nil || next == "" {
			return all, nil
		}
		cursor = next
	}
}

func fetchRemote(ctx context.Context, c Client, doc *Document) (*remote, error) {
	var r remote
	var err error
	if r.users, err = listAll[remoteUser](ctx, c, "/api/v1/users", "users"); err != nil {
		return nil, err
	}
	if r.teams, err = listAll[remoteTeam](ctx, c, "/api/v1/teams", "teams"); err != nil {
		return nil, err
	}
	if r.schedules, err = listAll[remoteSchedule](ctx, c, "/api/v1/schedules", "schedules"); err != nil {
		return nil, err
	}
	if r.policies, err = listAll[remotePolicy](ctx, c, "/api/v1/escalation-policies", "escalation_policies"); err != nil {
		return nil, err
	}
	if r.services, err = listAll[remoteService](ctx, c, "/api/v1/services", "services"); err != nil {
		return nil, err
	}
	r.contactMethods = map[string][]remoteContactMethod{}
	r.rules = map[string][]remoteRule{}
	for _, u := range doc.Users {
		ru := r.userByEmail(u.Email)
		if ru == nil {
			continue
		}
		var cms struct {
			List []remoteContactMethod `json:"contact_methods"`
		}
		if err := c.Do(ctx, "GET", "/api/v1/users/"+ru.ID+"/contact-methods", nil, &cms); err != nil {
			return nil, fmt.Errorf("reading contact methods of %s: %w", u.Email, err)
		}
		r.contactMethods[ru.ID] = cms.List
		var rules struct {
			List []remoteRule `json:"notification_rules"`
		}
		if err := c.Do(ctx, "GET", "/api/v1/users/"+ru.ID+"/notification-rules", nil, &rules); err != nil {
			return nil, fmt.Errorf("reading notification rules of %s: %w", u.Email, err)
		}
		r.rules[ru.ID] = rules.List
	}
	r.integrations = map[string][]remoteIntegration{}
	for _, s := range doc.Services {
		rs := r.serviceByName(s.Name)
		if rs == nil {
			continue
		}
		var ins struct {
			List []remoteIntegration `json:"integrations"`
		}
		if err := c.Do(ctx, "GET", "/api/v1/services/"+rs.ID+"/integrations", nil, &ins); err != nil {
			return nil, fmt.Errorf("reading integrations of %s: %w", s.Name, err)
		}
		r.integrations[rs.ID] = ins.List
	}
	return &r, nil
}

// find returns the first item match accepts, or nil.
func find[T any](items []T, match func(*T) bool) *T {
	for i := range items {
		if match(&items[i]) {
			return &items[i]
		}
	}
	return nil
}

func (r *remote) userByEmail(email string) *remoteUser {
	return find(r.users, func(u *remoteUser) bool { return strings.EqualFold(u.Email, email) })
}

func (r *remote) teamByName(name string) *remoteTeam {
	return find(r.teams, func(t *remoteTeam) bool { return t.Name == name })
}

func (r *remote) scheduleByName(name string) *remoteSchedule {
	return find(r.schedules, func(s *remoteSchedule) bool { return s.Name == name })
}

func (r *remote) policyByName(name string) *remotePolicy {
	return find(r.policies, func(p *remotePolicy) bool { return p.Name == name })
}

func (r *remote) serviceByName(name string) *remoteService {
	return find(r.services, func(s *remoteService) bool { return s.Name == name })
}
