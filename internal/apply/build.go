package apply

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// Build validates doc, reads the server's state through c, and returns the
// plan that would make the server match doc. It changes nothing.
func Build(ctx context.Context, c Client, doc *Document) (*Plan, error) {
	if err := doc.validate(); err != nil {
		return nil, err
	}
	r, err := fetchRemote(ctx, c, doc)
	if err != nil {
		return nil, err
	}
	b := &builder{plan: &Plan{state: newIDs()}, r: r, doc: doc}
	b.seed()
	if err := b.checkReferences(); err != nil {
		return nil, err
	}
	b.users()
	b.teams()
	b.schedules()
	b.policies()
	if err := b.services(); err != nil {
		return nil, err
	}
	b.unmanaged()
	return b.plan, nil
}

type builder struct {
	plan *Plan
	r    *remote
	doc  *Document
}

func (b *builder) add(a Action) { b.plan.Actions = append(b.plan.Actions, a) }

// seed fills the name -> id maps with what the server has.
func (b *builder) seed() {
	st := b.plan.state
	for _, u := range b.r.users {
		st.users[strings.ToLower(u.Email)] = u.ID
	}
	for _, t := range b.r.teams {
		st.teams[t.Name] = t.ID
	}
	for _, s := range b.r.schedules {
		st.schedules[s.Name] = s.ID
	}
	for _, p := range b.r.policies {
		st.policies[p.Name] = p.ID
	}
	for _, s := range b.r.services {
		st.services[s.Name] = s.ID
	}
}

// checkReferences refuses a reference to an object that is neither in the
// files nor on the server.
func (b *builder) checkReferences() error {
	known := func(m map[string]string, key string, declared bool) bool {
		_, ok := m[key]
		return ok || declared
	}
	st := b.plan.state
	user := func(email string) bool { return known(st.users, strings.ToLower(email), b.doc.declaresUser(email)) }
	for _, t := range b.doc.Teams {
		for i, m := range t.Members {
			if !user(m) {
				return t.errorAt(fmt.Sprintf("members[%d]", i), "no user with email %q in the files or on the server", m)
			}
		}
	}
	for _, s := range b.doc.Schedules {
		for i, l := range s.Layers {
			for j, m := range l.Users {
				if !user(m) {
					return s.errorAt(fmt.Sprintf("layers[%d].users[%d]", i, j), "no user with email %q in the files or on the server", m)
				}
			}
		}
	}
	for _, p := range b.doc.EscalationPolicies {
		for i, step := range p.Steps {
			for j, t := range step.Targets {
				field := fmt.Sprintf("steps[%d].targets[%d]", i, j)
				switch {
				case t.User != "" && !user(t.User):
					return p.errorAt(field+".user", "no user with email %q in the files or on the server", t.User)
				case t.Schedule != "" && !known(st.schedules, t.Schedule, b.doc.declaresSchedule(t.Schedule)):
					return p.errorAt(field+".schedule", "no schedule named %q in the files or on the server", t.Schedule)
				case t.Team != "" && !known(st.teams, t.Team, b.doc.declaresTeam(t.Team)):
					return p.errorAt(field+".team", "no team named %q in the files or on the server", t.Team)
				}
			}
		}
	}
	for _, s := range b.doc.Services {
		if s.EscalationPolicy != "" && !known(st.policies, s.EscalationPolicy, b.doc.declaresPolicy(s.EscalationPolicy)) {
			return s.errorAt("escalation_policy", "no escalation policy named %q in the files or on the server", s.EscalationPolicy)
		}
	}
	return nil
}

func (b *builder) users() {
	for _, u := range b.doc.Users {
		u := u
		email := strings.ToLower(u.Email)
		ru := b.r.userByEmail(u.Email)
		if ru == nil {
			b.add(Action{Verb: "create", What: "user " + u.Email, src: u.source,
				Changes: nonEmpty("name", u.Name, "time_zone", u.timeZone(), "role", u.role()),
				run: create(func(st *ids) string { return "/api/v1/users" }, func(st *ids) map[string]string { return st.users }, email,
					func(st *ids) any {
						return map[string]any{"name": u.Name, "email": u.Email, "time_zone": u.timeZone(), "role": u.role()}
					})})
		} else {
			var changes []string
			patch := map[string]any{}
			compare := func(field, have, want string) {
				if want != "" && want != have {
					changes = append(changes, fmt.Sprintf("%s: %q -> %q", field, have, want))
					patch[field] = want
				}
			}
			compare("name", ru.Name, u.Name)
			compare("time_zone", ru.TimeZone, u.TimeZone)
			compare("role", ru.Role, u.Role)
			if len(changes) > 0 {
				id := ru.ID
				b.add(Action{Verb: "update", What: "user " + u.Email, Changes: changes, src: u.source,
					run: func(ctx context.Context, c Client, st *ids) (string, error) {
						return "", c.Do(ctx, "PATCH", "/api/v1/users/"+id, patch, nil)
					}})
			}
		}
		b.contactMethods(u, ru)
	}
}

func (b *builder) contactMethods(u User, ru *remoteUser) {
	email := strings.ToLower(u.Email)
	var have []remoteContactMethod
	var rules []remoteRule
	if ru != nil {
		have, rules = b.r.contactMethods[ru.ID], b.r.rules[ru.ID]
	}
	st := b.plan.state
	for i, cm := range u.ContactMethods {
		cm := cm
		name := cm.nameOrType()
		key := email + "\x00" + name
		if found := find(have, func(h *remoteContactMethod) bool {
			return h.Type == cm.Type && strings.EqualFold(h.Address, cm.Address)
		}); found != nil {
			st.contactMethods[key] = found.ID
			continue
		}
		b.add(Action{Verb: "add", What: fmt.Sprintf("contact method %s %s for %s", cm.Type, cm.Address, u.Email),
			src: u.source, field: fmt.Sprintf("%s.contact_methods[%d]", u.path, i),
			run: create(func(st *ids) string { return "/api/v1/users/" + st.users[email] + "/contact-methods" },
				func(st *ids) map[string]string { return st.contactMethods }, key,
				func(st *ids) any {
					body := map[string]any{"type": cm.Type, "address": cm.Address}
					setIf(body, "name", cm.Name)
					return body
				})})
	}
	for i, rule := range u.NotificationRules {
		rule := rule
		key := email + "\x00" + rule.ContactMethod
		urgency := rule.urgency()
		if cmID, ok := st.contactMethods[key]; ok && hasRule(rules, cmID, rule.DelayMinutes, urgency) {
			continue
		}
		b.add(Action{Verb: "add", What: fmt.Sprintf("notification rule for %s: %s after %d min (%s urgency)", u.Email, rule.ContactMethod, rule.DelayMinutes, urgency),
			src: u.source, field: fmt.Sprintf("%s.notification_rules[%d]", u.path, i),
			run: func(ctx context.Context, c Client, st *ids) (string, error) {
				body := map[string]any{"contact_method_id": st.contactMethods[key], "delay_minutes": rule.DelayMinutes, "urgency": urgency}
				return "", c.Do(ctx, "POST", "/api/v1/users/"+st.users[email]+"/notification-rules", body, nil)
			}})
	}
}

func hasRule(rules []remoteRule, cmID string, delay int, urgency string) bool {
	for _, r := range rules {
		if r.ContactMethodID == cmID && r.DelayMinutes == delay && r.Urgency == urgency {
			return true
		}
	}
	return false
}

func (b *builder) teams() {
	st := b.plan.state
	for _, t := range b.doc.Teams {
		t := t
		rt := b.r.teamByName(t.Name)
		members := map[string]bool{}
		if rt == nil {
			b.add(Action{Verb: "create", What: fmt.Sprintf("team %q", t.Name), src: t.source,
				Changes: nonEmpty("description", t.Description),
				run: create(func(st *ids) string { return "/api/v1/teams" }, func(st *ids) map[string]string { return st.teams }, t.Name,
					func(st *ids) any { return map[string]any{"name": t.Name, "description": t.Description} })})
		} else {
			for _, m := range rt.Members {
				members[m.UserID] = true
			}
			if rt.Description != t.Description {
				id := rt.ID
				b.add(Action{Verb: "update", What: fmt.Sprintf("team %q", t.Name), src: t.source,
					Changes: []string{fmt.Sprintf("description: %q -> %q", rt.Description, t.Description)},
					run: func(ctx context.Context, c Client, st *ids) (string, error) {
						return "", c.Do(ctx, "PATCH", "/api/v1/teams/"+id, map[string]any{"description": t.Description}, nil)
					}})
			}
		}
		for i, email := range t.Members {
			email := strings.ToLower(email)
			if id, ok := st.users[email]; ok && members[id] {
				continue
			}
			b.add(Action{Verb: "add", What: fmt.Sprintf("%s to team %q", email, t.Name), src: t.source,
				field: fmt.Sprintf("%s.members[%d]", t.path, i),
				run: func(ctx context.Context, c Client, st *ids) (string, error) {
					return "", c.Do(ctx, "POST", "/api/v1/teams/"+st.teams[t.Name]+"/members", map[string]any{"user_id": st.users[email]}, nil)
				}})
		}
	}
}

// wireLayers is a schedule's layers as the API takes and shows them, with
// people as ids (pending for people this apply creates).
func (s Schedule) wireLayers(st *ids) []remoteLayer {
	out := make([]remoteLayer, 0, len(s.Layers))
	for _, l := range s.Layers {
		rl := remoteLayer{Name: l.Name, Start: l.Start, Users: []string{}, Restrictions: []remoteRestriction{}}
		rl.Rotation.Unit, rl.Rotation.Every = l.Rotation.Unit, l.Rotation.Every
		for _, email := range l.Users {
			rl.Users = append(rl.Users, lookup(st.users, strings.ToLower(email)))
		}
		for _, x := range l.Restrictions {
			days := x.Days
			if days == nil {
				days = []string{}
			}
			rl.Restrictions = append(rl.Restrictions, remoteRestriction{Days: days, From: x.From, To: x.To})
		}
		out = append(out, rl)
	}
	return out
}

func (b *builder) schedules() {
	for _, s := range b.doc.Schedules {
		s := s
		rs := b.r.scheduleByName(s.Name)
		if rs == nil {
			b.add(Action{Verb: "create", What: fmt.Sprintf("schedule %q", s.Name), src: s.source,
				Changes: append(nonEmpty("time_zone", s.TimeZone), fmt.Sprintf("layers: %d", len(s.Layers))),
				field:   s.path,
				run: create(func(st *ids) string { return "/api/v1/schedules" }, func(st *ids) map[string]string { return st.schedules }, s.Name,
					func(st *ids) any {
						return map[string]any{"name": s.Name, "description": s.Description, "time_zone": s.TimeZone, "layers": s.wireLayers(st)}
					})})
			continue
		}
		var changes []string
		diffField(&changes, "description", rs.Description, s.Description)
		diffField(&changes, "time_zone", rs.TimeZone, s.TimeZone)
		layersChanged := !reflect.DeepEqual(normalLayers(rs.Layers), s.wireLayers(b.plan.state))
		if layersChanged {
			changes = append(changes, "layers: replaced by the file's")
		}
		if len(changes) == 0 {
			continue
		}
		id := rs.ID
		b.add(Action{Verb: "update", What: fmt.Sprintf("schedule %q", s.Name), Changes: changes, src: s.source, field: s.path,
			run: func(ctx context.Context, c Client, st *ids) (string, error) {
				body := map[string]any{"description": s.Description, "time_zone": s.TimeZone}
				if layersChanged {
					body["layers"] = s.wireLayers(st)
				}
				return "", c.Do(ctx, "PATCH", "/api/v1/schedules/"+id, body, nil)
			}})
	}
}

func normalLayers(ls []remoteLayer) []remoteLayer {
	out := make([]remoteLayer, len(ls))
	for i, l := range ls {
		if l.Users == nil {
			l.Users = []string{}
		}
		if l.Restrictions == nil {
			l.Restrictions = []remoteRestriction{}
		}
		for j := range l.Restrictions {
			if l.Restrictions[j].Days == nil {
				l.Restrictions[j].Days = []string{}
			}
		}
		out[i] = l
	}
	return out
}

func (p Policy) wireSteps(st *ids) []remoteStep {
	out := make([]remoteStep, 0, len(p.Steps))
	for _, s := range p.Steps {
		rs := remoteStep{DelayMinutes: s.DelayMinutes, Targets: []remoteTarget{}}
		for _, t := range s.Targets {
			switch {
			case t.User != "":
				rs.Targets = append(rs.Targets, remoteTarget{Type: "user", ID: lookup(st.users, strings.ToLower(t.User))})
			case t.Schedule != "":
				rs.Targets = append(rs.Targets, remoteTarget{Type: "schedule", ID: lookup(st.schedules, t.Schedule)})
			case t.Team != "":
				rs.Targets = append(rs.Targets, remoteTarget{Type: "team", ID: lookup(st.teams, t.Team)})
			}
		}
		out = append(out, rs)
	}
	return out
}

func (b *builder) policies() {
	for _, p := range b.doc.EscalationPolicies {
		p := p
		rp := b.r.policyByName(p.Name)
		if rp == nil {
			b.add(Action{Verb: "create", What: fmt.Sprintf("escalation policy %q", p.Name), src: p.source, field: p.path,
				Changes: []string{fmt.Sprintf("steps: %d, repeat: %d", len(p.Steps), p.Repeat)},
				run: create(func(st *ids) string { return "/api/v1/escalation-policies" }, func(st *ids) map[string]string { return st.policies }, p.Name,
					func(st *ids) any {
						return map[string]any{"name": p.Name, "description": p.Description, "repeat": p.Repeat, "steps": p.wireSteps(st)}
					})})
			continue
		}
		var changes []string
		diffField(&changes, "description", rp.Description, p.Description)
		diffField(&changes, "repeat", rp.Repeat, p.Repeat)
		have := rp.Steps
		for i := range have {
			if have[i].Targets == nil {
				have[i].Targets = []remoteTarget{}
			}
		}
		if have == nil {
			have = []remoteStep{}
		}
		stepsChanged := !reflect.DeepEqual(have, p.wireSteps(b.plan.state))
		if stepsChanged {
			changes = append(changes, "steps: replaced by the file's")
		}
		if len(changes) == 0 {
			continue
		}
		id := rp.ID
		b.add(Action{Verb: "update", What: fmt.Sprintf("escalation policy %q", p.Name), Changes: changes, src: p.source, field: p.path,
			run: func(ctx context.Context, c Client, st *ids) (string, error) {
				body := map[string]any{"description": p.Description, "repeat": p.Repeat}
				if stepsChanged {
					body["steps"] = p.wireSteps(st)
				}
				return "", c.Do(ctx, "PATCH", "/api/v1/escalation-policies/"+id, body, nil)
			}})
	}
}

func (b *builder) services() error {
	for _, s := range b.doc.Services {
		s := s
		rs := b.r.serviceByName(s.Name)
		policyID := func(st *ids) any {
			if s.EscalationPolicy == "" {
				return nil
			}
			return lookup(st.policies, s.EscalationPolicy)
		}
		if rs == nil {
			b.add(Action{Verb: "create", What: fmt.Sprintf("service %q", s.Name), src: s.source, field: s.path,
				Changes: nonEmpty("escalation_policy", s.EscalationPolicy),
				run: create(func(st *ids) string { return "/api/v1/services" }, func(st *ids) map[string]string { return st.services }, s.Name,
					func(st *ids) any {
						body := map[string]any{"name": s.Name, "description": s.Description}
						if id := policyID(st); id != nil {
							body["escalation_policy_id"] = id
						}
						return body
					})})
		} else {
			var changes []string
			diffField(&changes, "description", rs.Description, s.Description)
			have := ""
			if rs.EscalationPolicyID != nil {
				have = *rs.EscalationPolicyID
			}
			// A service whose policy is not in the file keeps the one it has.
			if want := policyID(b.plan.state); want != nil && want != have {
				changes = append(changes, fmt.Sprintf("escalation_policy: %s -> %q", b.policyName(have), s.EscalationPolicy))
			}
			if len(changes) > 0 {
				id := rs.ID
				b.add(Action{Verb: "update", What: fmt.Sprintf("service %q", s.Name), Changes: changes, src: s.source, field: s.path,
					run: func(ctx context.Context, c Client, st *ids) (string, error) {
						body := map[string]any{"description": s.Description}
						if id := policyID(st); id != nil {
							body["escalation_policy_id"] = id
						}
						return "", c.Do(ctx, "PATCH", "/api/v1/services/"+id, body, nil)
					}})
			}
		}
		var have []remoteIntegration
		if rs != nil {
			have = b.r.integrations[rs.ID]
		}
		for i, in := range s.Integrations {
			in := in
			kind := in.kindOrDefault()
			if found := find(have, func(h *remoteIntegration) bool { return h.Name == in.Name }); found != nil {
				if found.Kind != kind {
					return s.errorAt(fmt.Sprintf("integrations[%d].kind", i), "integration %q already exists with kind %s; a kind cannot be changed", in.Name, found.Kind)
				}
				continue
			}
			b.add(Action{Verb: "create", What: fmt.Sprintf("%s integration %q on service %q", kind, in.Name, s.Name), src: s.source,
				field: fmt.Sprintf("%s.integrations[%d]", s.path, i),
				run: func(ctx context.Context, c Client, st *ids) (string, error) {
					var out remoteIntegration
					if err := c.Do(ctx, "POST", "/api/v1/services/"+st.services[s.Name]+"/integrations", map[string]any{"kind": kind, "name": in.Name}, &out); err != nil {
						return "", err
					}
					return fmt.Sprintf(" (key %s: shown only now)", out.Key), nil
				}})
		}
	}
	return nil
}

// create is the run of an action that creates an object: it POSTs body to
// path, both worked out when the action runs (objects created before it
// have ids by then), and records the new object's id under key.
func create(path func(*ids) string, idsOf func(*ids) map[string]string, key string, body func(*ids) any) func(context.Context, Client, *ids) (string, error) {
	return func(ctx context.Context, c Client, st *ids) (string, error) {
		var out struct {
			ID string `json:"id"`
		}
		if err := c.Do(ctx, "POST", path(st), body(st), &out); err != nil {
			return "", err
		}
		idsOf(st)[key] = out.ID
		return "", nil
	}
}

func (b *builder) policyName(id string) string {
	if id == "" {
		return "none"
	}
	for _, p := range b.r.policies {
		if p.ID == id {
			return fmt.Sprintf("%q", p.Name)
		}
	}
	return "policy " + id
}

// unmanaged lists what the server has and the files do not declare.
func (b *builder) unmanaged() {
	var out []string
	for _, u := range b.r.users {
		if !b.doc.declaresUser(u.Email) {
			out = append(out, "user "+u.Email)
		}
	}
	for _, t := range b.r.teams {
		if !b.doc.declaresTeam(t.Name) {
			out = append(out, fmt.Sprintf("team %q", t.Name))
		}
	}
	for _, s := range b.r.schedules {
		if !b.doc.declaresSchedule(s.Name) {
			out = append(out, fmt.Sprintf("schedule %q", s.Name))
		}
	}
	for _, p := range b.r.policies {
		if !b.doc.declaresPolicy(p.Name) {
			out = append(out, fmt.Sprintf("escalation policy %q", p.Name))
		}
	}
	for _, s := range b.r.services {
		if !b.doc.declaresService(s.Name) {
			out = append(out, fmt.Sprintf("service %q", s.Name))
		}
	}
	b.plan.Unmanaged = out
}

func nonEmpty(pairs ...string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, fmt.Sprintf("%s: %q", pairs[i], pairs[i+1]))
		}
	}
	return out
}

func setIf(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}
