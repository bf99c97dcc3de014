package statuspage

import (
	"strings"

	"github.com/klaxonhq/klaxon"
)

// affectedLine writes what an incident affected, for "This incident
// affected: …": the components in page order, each group's members together
// as "Group (A, B)", ungrouped components by name, and components no longer
// on the page by the name their updates recorded. The items are joined as
// a list in English: "A", "A and B", "A, B, and C" (Statuspage's serial
// comma). Empty when the incident names no component.
func affectedLine(p *prepared, inc klaxon.StatusIncident) string {
	want := make(map[int64]bool, len(inc.Components))
	for _, id := range inc.Components {
		want[id] = true
	}
	if len(want) == 0 {
		return ""
	}
	var items []string
	for _, c := range p.components {
		switch {
		case c.Group:
			var names []string
			for _, m := range p.members[c.ID] {
				if want[m.ID] {
					names = append(names, m.Name)
				}
			}
			if len(names) > 0 {
				items = append(items, c.Name+" ("+strings.Join(names, ", ")+")")
			} else if want[c.ID] {
				items = append(items, c.Name)
			}
		case p.ungrouped(c):
			if want[c.ID] {
				items = append(items, c.Name)
			}
		}
	}
	// Components gone from the page: the names the updates recorded, in the
	// order the incident lists them.
	for _, id := range inc.Components {
		if _, ok := p.byID[id]; ok {
			continue
		}
		if name := recordedName(inc, id); name != "" {
			items = append(items, name)
		}
	}
	return englishList(items)
}

// recordedName is the name an incident's updates recorded for component id.
func recordedName(inc klaxon.StatusIncident, id int64) string {
	for _, u := range inc.Updates {
		for _, a := range u.Affected {
			if a.ComponentID == id && a.Name != "" {
				return a.Name
			}
		}
	}
	return ""
}

// englishList joins items as "A", "A and B" or "A, B, and C".
func englishList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", and " + items[len(items)-1]
}
