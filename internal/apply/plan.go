package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// Plan is what applying the files would do, in the order it would do it:
// people first, then what refers to them.
type Plan struct {
	Actions []Action
	// Unmanaged are objects the server has and the files do not declare.
	// They are kept: pruning arrives with the guarded deletion path.
	Unmanaged []string

	state *ids // names to ids, shared by the actions as they run
}

// Action is one create or update.
type Action struct {
	Verb    string // "create", "update" or "add"
	What    string // "user alice@example.com", "schedule \"Primary\""
	Changes []string
	src     source
	field   string // the object's part this action is about, for errors
	run     func(ctx context.Context, c Client, ids *ids) (note string, err error)
}

// ids maps names to server ids: filled from the server when planning, and
// as objects are created while applying.
type ids struct {
	users, teams, schedules, policies, services map[string]string
	contactMethods                              map[string]string // email "\x00" name
}

func newIDs() *ids {
	return &ids{users: map[string]string{}, teams: map[string]string{}, schedules: map[string]string{},
		policies: map[string]string{}, services: map[string]string{}, contactMethods: map[string]string{}}
}

// pending stands for the id of an object this apply will create, when
// comparing before it exists.
const pending = "(new)"

func lookup(m map[string]string, key string) string {
	if id, ok := m[key]; ok {
		return id
	}
	return pending
}

// Write prints the plan as a diff: + creates, ~ updates with each changed
// field, and the objects left alone. It prints "no changes" when the server
// already matches the files.
func (p *Plan) Write(w io.Writer) {
	if len(p.Actions) == 0 {
		fmt.Fprintln(w, "no changes")
	}
	defer p.writeUnmanaged(w)
	for _, a := range p.Actions {
		mark := "~"
		if a.Verb != "update" {
			mark = "+"
		}
		fmt.Fprintf(w, "%s %s %s\n", mark, a.Verb, a.What)
		for _, c := range a.Changes {
			fmt.Fprintf(w, "    %s\n", c)
		}
	}
}

func (p *Plan) writeUnmanaged(w io.Writer) {
	if len(p.Unmanaged) > 0 {
		fmt.Fprintf(w, "not in the files, left as they are (%d):\n", len(p.Unmanaged))
		for _, u := range p.Unmanaged {
			fmt.Fprintf(w, "    %s\n", u)
		}
	}
}

// Apply runs the plan's actions in order, printing each as it is done. It
// stops at the first failure, saying what was done before it; applying the
// files again after a fix finishes the job.
func (p *Plan) Apply(ctx context.Context, c Client, w io.Writer) error {
	for i, a := range p.Actions {
		note, err := a.run(ctx, c, p.state)
		if err != nil {
			return fmt.Errorf("%w (%d of %d changes were applied before this one)", a.explain(err), i, len(p.Actions))
		}
		mark := "~"
		if a.Verb != "update" {
			mark = "+"
		}
		fmt.Fprintf(w, "%s %s %s%s\n", mark, pastTense[a.Verb], a.What, note)
	}
	if len(p.Actions) == 0 {
		fmt.Fprintln(w, "no changes")
	}
	p.writeUnmanaged(w)
	return nil
}

var pastTense = map[string]string{"create": "created", "update": "updated", "add": "added"}

// FieldError is what a Client's errors may implement to say which request
// field the server refused, so that apply can point at the file and line.
type FieldError interface {
	error
	ErrorField() string
	ErrorMessage() string
}

// explain turns a server's refusal into an error naming the file and line of
// the field it refused.
func (a Action) explain(err error) error {
	var fe FieldError
	if errors.As(err, &fe) && fe.ErrorField() != "" && fe.ErrorField() != "body" {
		field := fe.ErrorField()
		if a.field != "" {
			field = joinField(a.field, field)
		}
		return a.src.errorAt(field, "%s", fe.ErrorMessage())
	}
	return fmt.Errorf("%s %s: %w", a.Verb, a.What, err)
}

// diffField records a changed scalar field.
func diffField(changes *[]string, name string, from, to any) {
	if !reflect.DeepEqual(from, to) {
		*changes = append(*changes, fmt.Sprintf("%s: %q -> %q", name, fmt.Sprint(from), fmt.Sprint(to)))
	}
}
