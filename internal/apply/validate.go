package apply

import (
	"fmt"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/internal/escalation"
	"github.com/klaxonhq/klaxon/internal/schedule"
)

// validate checks what can be checked without the server, so that a dry
// run finds mistakes and a real run does not stop half-way on them. Every
// error names the file, line and field.
func (doc *Document) validate() error {
	for _, u := range doc.Users {
		if err := u.validate(); err != nil {
			return err
		}
	}
	for _, t := range doc.Teams {
		if err := t.errorIf(klaxon.ValidateName("name", t.Name)); err != nil {
			return err
		}
	}
	for _, s := range doc.Schedules {
		if err := s.validate(); err != nil {
			return err
		}
	}
	for _, p := range doc.EscalationPolicies {
		if err := p.validate(); err != nil {
			return err
		}
	}
	for _, s := range doc.Services {
		if err := s.errorIf(klaxon.ValidateName("name", s.Name)); err != nil {
			return err
		}
		seen := map[string]bool{}
		for i, in := range s.Integrations {
			field := fmt.Sprintf("integrations[%d]", i)
			if err := s.errorIf(klaxon.ValidateName(field+".name", in.Name)); err != nil {
				return err
			}
			if !klaxon.IntegrationKind(in.kindOrDefault()).Valid() {
				return s.errorAt(field+".kind", "must be api or pagerduty, not %q", in.Kind)
			}
			if seen[in.Name] {
				return s.errorAt(field+".name", "integration %q is declared twice on this service", in.Name)
			}
			seen[in.Name] = true
		}
	}
	return nil
}

// errorIf moves a domain validation error (which names a field of the
// object) to the object's place in its file.
func (s source) errorIf(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := klaxon.AsError(err); ok {
		return s.errorAt(e.Field, "%s", e.Message)
	}
	return s.errorAt("", "%v", err)
}

func (u User) validate() error {
	if strings.TrimSpace(u.Email) == "" {
		return u.errorAt("email", "is required: it is how apply knows the person")
	}
	ku := klaxon.User{Name: u.Name, Email: u.Email, TimeZone: u.timeZone(), Role: klaxon.Role(u.role())}
	if err := u.errorIf(ku.Validate()); err != nil {
		return err
	}
	names := map[string]bool{}
	for i, cm := range u.ContactMethods {
		field := fmt.Sprintf("contact_methods[%d]", i)
		kc := klaxon.ContactMethod{Type: klaxon.ContactType(cm.Type), Address: cm.Address, Name: cm.nameOrType()}
		if err := kc.Validate(); err != nil {
			e, _ := klaxon.AsError(err)
			return u.errorAt(field+"."+e.Field, "%s", e.Message)
		}
		if names[cm.nameOrType()] {
			return u.errorAt(field+".name", "two contact methods are called %q; give them distinct names", cm.nameOrType())
		}
		names[cm.nameOrType()] = true
	}
	for i, r := range u.NotificationRules {
		field := fmt.Sprintf("notification_rules[%d]", i)
		if !names[r.ContactMethod] {
			return u.errorAt(field+".contact_method", "names no contact method of this user (a contact method's name is its name, or else its type)")
		}
		if r.urgency() != "high" && r.urgency() != "low" {
			return u.errorAt(field+".urgency", "must be high or low, not %q", r.Urgency)
		}
	}
	return nil
}

// role is the user's role; a person declared without one is a responder,
// the role of most people on a schedule.
func (u User) role() string {
	if u.Role == "" {
		return string(klaxon.RoleResponder)
	}
	return u.Role
}

func (u User) timeZone() string {
	if u.TimeZone == "" {
		return klaxon.DefaultTimeZone
	}
	return u.TimeZone
}

func (cm ContactMethod) nameOrType() string {
	if cm.Name != "" {
		return cm.Name
	}
	return cm.Type
}

func (r Rule) urgency() string {
	if r.Urgency == "" {
		return "high"
	}
	return r.Urgency
}

func (in Integration) kindOrDefault() string {
	if in.Kind == "" {
		return string(klaxon.IntegrationAPI)
	}
	return in.Kind
}

// validate compiles the schedule with stand-in ids, which checks its zone,
// layers, rotations and restrictions exactly as the server will.
func (s Schedule) validate() error {
	sc := klaxon.Schedule{Name: s.Name, Description: s.Description, TimeZone: s.TimeZone}
	for _, l := range s.Layers {
		kl := klaxon.ScheduleLayer{Name: l.Name, Start: l.Start, RotationUnit: l.Rotation.Unit, RotationEvery: l.Rotation.Every}
		for range l.Users {
			kl.UserIDs = append(kl.UserIDs, 1)
		}
		for _, x := range l.Restrictions {
			kl.Restrictions = append(kl.Restrictions, klaxon.Restriction{Days: x.Days, From: x.From, To: x.To})
		}
		sc.Layers = append(sc.Layers, kl)
	}
	if err := s.errorIf(sc.Validate()); err != nil {
		return err
	}
	_, err := schedule.Compile(sc, nil)
	return s.errorIf(err)
}

// validate checks the policy's shape with escalation's own rules, each
// target standing in with an id per distinct name.
func (p Policy) validate() error {
	kp := klaxon.EscalationPolicy{Name: p.Name, Description: p.Description, Repeat: p.Repeat}
	stand := map[string]int64{}
	for i, step := range p.Steps {
		ks := klaxon.EscalationStep{DelayMinutes: step.DelayMinutes}
		for j, t := range step.Targets {
			typ, name, n := t.only()
			if n != 1 {
				return p.errorAt(fmt.Sprintf("steps[%d].targets[%d]", i, j), "must name exactly one of user, schedule or team")
			}
			key := typ + "\x00" + name
			if stand[key] == 0 {
				stand[key] = int64(len(stand) + 1)
			}
			ks.Targets = append(ks.Targets, klaxon.Target{Type: klaxon.TargetType(typ), ID: stand[key]})
		}
		kp.Steps = append(kp.Steps, ks)
	}
	if err := p.errorIf(kp.Validate()); err != nil {
		return err
	}
	return p.errorIf(escalation.FromDomain(kp).Validate())
}

// only says which one of its fields a target sets, and how many it sets.
func (t Target) only() (typ, name string, n int) {
	for _, f := range []struct{ typ, name string }{{"user", t.User}, {"schedule", t.Schedule}, {"team", t.Team}} {
		if f.name != "" {
			typ, name, n = f.typ, f.name, n+1
		}
	}
	return typ, name, n
}

func (doc *Document) declaresUser(email string) bool {
	return find(doc.Users, func(u *User) bool { return strings.EqualFold(u.Email, email) }) != nil
}

func (doc *Document) declaresTeam(name string) bool {
	return find(doc.Teams, func(t *Team) bool { return t.Name == name }) != nil
}

func (doc *Document) declaresSchedule(name string) bool {
	return find(doc.Schedules, func(s *Schedule) bool { return s.Name == name }) != nil
}

func (doc *Document) declaresPolicy(name string) bool {
	return find(doc.EscalationPolicies, func(p *Policy) bool { return p.Name == name }) != nil
}

func (doc *Document) declaresService(name string) bool {
	return find(doc.Services, func(s *Service) bool { return s.Name == name }) != nil
}
