package schedule

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
)

// Limits on a schedule's size. They are far above any real rotation and
// keep one schedule from making every on-call query slow.
const (
	MaxLayers          = 32
	MaxLayerUsers      = 1000
	MaxRestrictions    = 64
	MaxLayerNameLength = 100 // characters
)

// maxEvery is the longest shift a rotation may have, in its own units:
// about a year (366 days, 8,784 hours, 53 weeks). Longer shifts are almost
// certainly a typing mistake, and the bound keeps shift arithmetic small.
// It is 0 for an unknown unit.
func maxEvery(u Unit) int {
	switch u {
	case UnitHour:
		return 366 * 24
	case UnitDay:
		return 366
	case UnitWeek:
		return 53
	}
	return 0
}

// Validate reports the first thing wrong with s as a *klaxon.Error naming
// the JSON field a person wrote it in ("layers[0].rotation.every"), so the
// API can answer 400 with something to fix.
func (s *Schedule) Validate() error {
	switch {
	case s.Location == nil:
		return klaxon.FieldError("time_zone", "is required: an IANA time zone such as \"Europe/London\"")
	case s.Location == time.Local || s.Location.String() == "Local":
		return klaxon.FieldError("time_zone", "must be an IANA time zone such as \"Europe/London\", not \"Local\"")
	case len(s.Layers) == 0:
		return klaxon.FieldError("layers", "must have at least one layer")
	case len(s.Layers) > MaxLayers:
		return klaxon.FieldError("layers", "must have at most %d layers, got %d", MaxLayers, len(s.Layers))
	}
	for i := range s.Layers {
		if err := s.Layers[i].validate(i); err != nil {
			return err
		}
	}
	return validateOverrides(s.Overrides)
}

// validate checks layers[i]. Field paths are only built for an error:
// compiling many schedules per request is on a hot path.
func (l *Layer) validate(i int) error {
	path := func() string { return fmt.Sprintf("layers[%d]", i) }
	if err := validateName(path, l.Name); err != nil {
		return err
	}
	if err := l.Start.check(); err != nil {
		return klaxon.FieldError(path()+".start", "%q %v", l.Start.String(), err)
	}
	limit := maxEvery(l.Rotation.Unit)
	switch {
	case limit == 0:
		return klaxon.FieldError(path()+".rotation.unit", "must be \"hour\", \"day\" or \"week\", got %q", string(l.Rotation.Unit))
	case l.Rotation.Every < 1 || l.Rotation.Every > limit:
		return klaxon.FieldError(path()+".rotation.every", "must be from 1 to %d for unit %q, got %d", limit, string(l.Rotation.Unit), l.Rotation.Every)
	case len(l.Users) == 0:
		return klaxon.FieldError(path()+".users", "must list at least one user")
	case len(l.Users) > MaxLayerUsers:
		return klaxon.FieldError(path()+".users", "must list at most %d users, got %d", MaxLayerUsers, len(l.Users))
	case len(l.Restrictions) > MaxRestrictions:
		return klaxon.FieldError(path()+".restrictions", "must have at most %d restrictions, got %d", MaxRestrictions, len(l.Restrictions))
	}
	for j, id := range l.Users {
		if id <= 0 {
			return klaxon.FieldError(fmt.Sprintf("%s.users[%d]", path(), j), "must be a user id (a positive number), got %d", id)
		}
	}
	for j := range l.Restrictions {
		if err := l.Restrictions[j].validate(func() string { return fmt.Sprintf("%s.restrictions[%d]", path(), j) }); err != nil {
			return err
		}
	}
	return nil
}

// validateName checks the name of the layer at path: people tell layers
// apart by it.
func validateName(path func() string, name string) error {
	switch {
	case !utf8.ValidString(name):
		return klaxon.FieldError(path()+".name", "must be valid UTF-8")
	case strings.TrimSpace(name) == "":
		return klaxon.FieldError(path()+".name", "is required")
	case utf8.RuneCountInString(name) > MaxLayerNameLength:
		return klaxon.FieldError(path()+".name", "must be at most %d characters", MaxLayerNameLength)
	}
	return nil
}

// validate checks the restriction at path.
func (x *Restriction) validate(path func() string) error {
	var seen [7]bool
	for k, d := range x.Days {
		field := func() string { return fmt.Sprintf("%s.days[%d]", path(), k) }
		if d < time.Sunday || d > time.Saturday {
			return klaxon.FieldError(field(), "must be a day of the week, got %d", int(d))
		}
		if seen[d] {
			return klaxon.FieldError(field(), "lists %q twice", FormatWeekday(d))
		}
		seen[d] = true
	}
	switch {
	case !x.From.valid():
		return klaxon.FieldError(path()+".from", "must be a time of day from \"00:00\" to \"23:59\", got %q", x.From.String())
	case x.From.Hour == 24:
		return klaxon.FieldError(path()+".from", "must be from \"00:00\" to \"23:59\": \"24:00\" can only end a window")
	case !x.To.valid():
		return klaxon.FieldError(path()+".to", "must be a time of day from \"00:00\" to \"24:00\", got %q", x.To.String())
	}
	return nil
}

// validateOverrides checks each override's own fields, then that no person
// has two overlapping overrides: the second would say nothing new, and is
// more likely a mistake than a plan.
func validateOverrides(list []Override) error {
	for i := range list {
		o := &list[i]
		path := func() string { return fmt.Sprintf("overrides[%d]", i) }
		switch {
		case o.UserID <= 0:
			return klaxon.FieldError(path()+".user_id", "must be a user id (a positive number), got %d", o.UserID)
		case o.Start.IsZero():
			return klaxon.FieldError(path()+".start", "is required")
		case o.End.IsZero():
			return klaxon.FieldError(path()+".end", "is required")
		case !o.End.After(o.Start):
			return klaxon.FieldError(path()+".end", "must be after start (%s)", o.Start.UTC().Format(time.RFC3339))
		}
	}
	// Per person, in order of start: an override overlaps an earlier-starting
	// one exactly when it starts before the latest end seen so far.
	order := make([]int, len(list))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(list[a].UserID, list[b].UserID), list[a].Start.Compare(list[b].Start), cmp.Compare(a, b))
	})
	reach := -1 // in order's current person, the override that ends last
	for n, i := range order {
		if n == 0 || list[order[n-1]].UserID != list[i].UserID {
			reach = i
			continue
		}
		if list[i].Start.Before(list[reach].End) {
			later, other := max(i, reach), min(i, reach)
			return klaxon.FieldError(fmt.Sprintf("overrides[%d].start", later),
				"overlaps overrides[%d] (%s to %s) for the same user", other,
				list[other].Start.UTC().Format(time.RFC3339), list[other].End.UTC().Format(time.RFC3339))
		}
		if list[i].End.After(list[reach].End) {
			reach = i
		}
	}
	return nil
}
