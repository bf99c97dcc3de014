// Package apply is Klaxon as code: it reads YAML files that declare users,
// teams, schedules, escalation policies and services, compares them with
// what a Klaxon server has, and creates or updates what differs, through the
// server's own API. Applying the same files twice changes nothing. Nothing
// is ever deleted here: objects the server has and the files do not are
// listed, and pruning waits for the guarded deletion path.
package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document is what one or more files declare. Objects refer to each other
// by name (people by email), never by id, so a file means the same thing on
// every server.
type Document struct {
	Users              []User     `yaml:"users"`
	Teams              []Team     `yaml:"teams"`
	Schedules          []Schedule `yaml:"schedules"`
	EscalationPolicies []Policy   `yaml:"escalation_policies"`
	Services           []Service  `yaml:"services"`
}

// User is a person, known by email.
type User struct {
	Name              string          `yaml:"name"`
	Email             string          `yaml:"email"`
	TimeZone          string          `yaml:"time_zone"`
	Role              string          `yaml:"role"`
	ContactMethods    []ContactMethod `yaml:"contact_methods"`
	NotificationRules []Rule          `yaml:"notification_rules"`
	source
}

// ContactMethod is known by its type and address. Name defaults to the
// type; notification rules refer to it by that name.
type ContactMethod struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`
	Address string `yaml:"address"`
}

// Rule is a notification rule: "after DelayMinutes, use ContactMethod".
type Rule struct {
	ContactMethod string `yaml:"contact_method"`
	DelayMinutes  int    `yaml:"delay_minutes"`
	Urgency       string `yaml:"urgency"`
}

// Team is known by name; members are emails.
type Team struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Members     []string `yaml:"members"`
	source
}

// Schedule is known by name; layer users are emails.
type Schedule struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	TimeZone    string  `yaml:"time_zone"`
	Layers      []Layer `yaml:"layers"`
	source
}

// Layer is one rotation of a schedule.
type Layer struct {
	Name         string        `yaml:"name"`
	Start        string        `yaml:"start"`
	Rotation     Rotation      `yaml:"rotation"`
	Users        []string      `yaml:"users"`
	Restrictions []Restriction `yaml:"restrictions"`
}

// Rotation is a layer's shift length.
type Rotation struct {
	Unit  string `yaml:"unit"`
	Every int    `yaml:"every"`
}

// Restriction limits a layer to windows of the day.
type Restriction struct {
	Days []string `yaml:"days"`
	From string   `yaml:"from"`
	To   string   `yaml:"to"`
}

// Policy is an escalation policy, known by name.
type Policy struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Repeat      int    `yaml:"repeat"`
	Steps       []Step `yaml:"steps"`
	source
}

// Step is one escalation step.
type Step struct {
	DelayMinutes int      `yaml:"delay_minutes"`
	Targets      []Target `yaml:"targets"`
}

// Target names exactly one of a user (email), a schedule or a team.
type Target struct {
	User     string `yaml:"user"`
	Schedule string `yaml:"schedule"`
	Team     string `yaml:"team"`
}

// Service is known by name.
type Service struct {
	Name             string        `yaml:"name"`
	Description      string        `yaml:"description"`
	EscalationPolicy string        `yaml:"escalation_policy"`
	Integrations     []Integration `yaml:"integrations"`
	source
}

// Integration is known by its name within its service. Its key is shown once,
// when apply creates it.
type Integration struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
}

// source remembers where an object was declared, so that any later error
// about it (found by validation or by the server) names the file and line.
type source struct {
	dec  *decoder
	path string // the object's field path in its file, such as "schedules[2]"
}

// errorAt builds an Error for field (relative to the object) of an object.
func (s source) errorAt(field, format string, args ...any) error {
	path := s.path
	if field != "" {
		path = joinField(s.path, field)
	}
	if s.dec == nil {
		return &Error{Field: path, Message: fmt.Sprintf(format, args...)}
	}
	return &Error{File: s.dec.file, Line: s.dec.lineOf(path), Field: path, Message: fmt.Sprintf(format, args...)}
}

func joinField(path, field string) string {
	if strings.HasPrefix(field, "[") {
		return path + field
	}
	return path + "." + field
}

// Load reads the files at paths; a directory contributes its *.yaml and
// *.yml files, in name order. An object declared twice is an error naming
// both places.
func Load(paths ...string) (*Document, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pattern))
			found = append(found, m...)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .yaml or .yml files in this directory", p)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var doc Document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := Parse(f, b, &doc); err != nil {
			return nil, err
		}
	}
	return &doc, doc.checkUnique()
}

// Parse decodes one file's YAML (which may hold several documents separated
// by ---) and appends its objects to doc.
func Parse(name string, data []byte, doc *Document) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{File: name, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		if len(root.Content) == 0 {
			continue
		}
		d := &decoder{file: name, lines: map[string]int{}}
		var part Document
		if err := d.value(root.Content[0], "", reflect.ValueOf(&part).Elem()); err != nil {
			return err
		}
		part.setSource(d)
		doc.Users = append(doc.Users, part.Users...)
		doc.Teams = append(doc.Teams, part.Teams...)
		doc.Schedules = append(doc.Schedules, part.Schedules...)
		doc.EscalationPolicies = append(doc.EscalationPolicies, part.EscalationPolicies...)
		doc.Services = append(doc.Services, part.Services...)
	}
}

func (doc *Document) setSource(d *decoder) {
	for i := range doc.Users {
		doc.Users[i].source = source{d, fmt.Sprintf("users[%d]", i)}
	}
	for i := range doc.Teams {
		doc.Teams[i].source = source{d, fmt.Sprintf("teams[%d]", i)}
	}
	for i := range doc.Schedules {
		doc.Schedules[i].source = source{d, fmt.Sprintf("schedules[%d]", i)}
	}
	for i := range doc.EscalationPolicies {
		doc.EscalationPolicies[i].source = source{d, fmt.Sprintf("escalation_policies[%d]", i)}
	}
	for i := range doc.Services {
		doc.Services[i].source = source{d, fmt.Sprintf("services[%d]", i)}
	}
}

// checkUnique refuses an object declared twice: which of the two was meant
// cannot be guessed.
func (doc *Document) checkUnique() error {
	type declared struct {
		src  source
		key  string
		what string
	}
	var all []declared
	for _, u := range doc.Users {
		all = append(all, declared{u.source, strings.ToLower(u.Email), "user"})
	}
	for _, t := range doc.Teams {
		all = append(all, declared{t.source, t.Name, "team"})
	}
	for _, s := range doc.Schedules {
		all = append(all, declared{s.source, s.Name, "schedule"})
	}
	for _, p := range doc.EscalationPolicies {
		all = append(all, declared{p.source, p.Name, "escalation policy"})
	}
	for _, s := range doc.Services {
		all = append(all, declared{s.source, s.Name, "service"})
	}
	first := map[string]source{}
	for _, d := range all {
		k := d.what + "\x00" + d.key
		if d.key == "" {
			continue // reported by validation, with the field
		}
		if prev, ok := first[k]; ok {
			where := prev.path
			if prev.dec != nil {
				where = fmt.Sprintf("%s:%d", prev.dec.file, prev.dec.lineOf(prev.path))
			}
			return d.src.errorAt("", "%s %q is also declared at %s", d.what, d.key, where)
		}
		first[k] = d.src
	}
	return nil
}
