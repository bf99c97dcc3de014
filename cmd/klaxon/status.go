package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon"
)

// The status page from a shell: post and update incidents (and import old
// ones with --at), schedule maintenance, write postmortems, and manage the
// page and its components, through /api/v1/status.

const statusUsage = `Usage:
  klaxon status post --name NAME [--status investigating] [--impact major] [--message TEXT]
                     [--component ID=STATE]... [--at TIME]
                                    open an incident; prints its id
  klaxon status update ID [--status STATUS] [--message TEXT] [--component ID=STATE]... [--at TIME]
                                    add an update to an incident or maintenance
  klaxon status resolve ID [--message TEXT] [--at TIME]
                                    resolve an incident (complete a maintenance)
  klaxon status maintenance --name NAME --from TIME --until TIME [--component ID]... [--message TEXT]
                                    schedule a maintenance; prints its id
  klaxon status postmortem ID --file PM.md [--publish | --publish-at TIME]
                                    set an incident's postmortem (Markdown; - reads stdin)
  klaxon status incidents [--limit N] list incidents and maintenances, newest first
  klaxon status incident ID         show one incident with its updates
  klaxon status components          list components in page order
  klaxon status component add --name NAME [--group GROUP] [--description TEXT]
  klaxon status component set ID [--state STATE] [--position N] [--group GROUP] [--name NAME] [--description TEXT]
  klaxon status page [--name NAME] [--time-zone ZONE] [--url URL] [--description TEXT]
                                    show the page's settings, or change them (here
                                    --url is the page's address; the server's is --server)

STATE is operational, degraded_performance, partial_outage, major_outage or
under_maintenance. TIME is RFC 3339 (2026-03-07T09:00:00Z); --at places an
update in the past, to import history from another status page. -q prints
only the new id. The server and token come from --url/KLAXON_URL and
--token/KLAXON_TOKEN.
`

// statusCommand runs "klaxon status SUBCOMMAND …".
func statusCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, statusUsage)
		return usageError{"status needs a subcommand"}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "post":
		return statusPost(ctx, rest, stdout, stderr)
	case "update":
		return statusUpdate(ctx, rest, stdout, stderr)
	case "resolve":
		return statusResolve(ctx, rest, stdout, stderr)
	case "maintenance":
		return statusMaintenance(ctx, rest, stdout, stderr)
	case "postmortem":
		return statusPostmortem(ctx, rest, stdout, stderr)
	case "incidents":
		return statusIncidents(ctx, rest, stdout, stderr)
	case "incident":
		return statusShowIncident(ctx, rest, stdout, stderr)
	case "components":
		return statusComponents(ctx, rest, stdout, stderr)
	case "component":
		if len(rest) > 0 {
			switch rest[0] {
			case "add":
				return statusComponentAdd(ctx, rest[1:], stdout, stderr)
			case "set":
				return statusComponentSet(ctx, rest[1:], stdout, stderr)
			}
		}
		fmt.Fprint(stderr, statusUsage)
		return usageError{"status component needs add or set"}
	case "page":
		return statusPageSettings(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, statusUsage)
		return nil
	}
	fmt.Fprint(stderr, statusUsage)
	return usageError{fmt.Sprintf("unknown status subcommand %q", sub)}
}

// statusFlags is one status subcommand's flag set with the client flags.
func statusFlags(name string, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet("status "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	return fs, &cf
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("update 7 --status identified" as well as
// "update --status identified 7"), and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseNoArgs parses the flags of a subcommand that takes no positional
// arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments, got %q", fs.Name(), pos)}
	}
	return nil
}

// parseID parses the flags of a subcommand and its single argument, the id
// of what (an incident, a component).
func parseID(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError{fmt.Sprintf("%s takes exactly one %s id, got %d arguments", fs.Name(), what, len(pos))}
	}
	if !isID(pos[0]) {
		article := "a"
		if strings.ContainsAny(what[:1], "aeiou") {
			article = "an"
		}
		return "", usageError{fmt.Sprintf("%q is not %s %s id", pos[0], article, what)}
	}
	return pos[0], nil
}

// isID reports whether s is an object id: a positive integer.
func isID(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

// componentStates is a repeatable --component ID=STATE flag.
type componentStates map[string]string

func (c componentStates) String() string { return fmt.Sprint(map[string]string(c)) }

func (c componentStates) Set(v string) error {
	id, state, ok := strings.Cut(v, "=")
	if !ok || !isID(id) {
		return fmt.Errorf("want ID=STATE such as 12=major_outage, not %q", v)
	}
	if !klaxon.ComponentState(state).Valid() {
		return fmt.Errorf("state %q must be operational, degraded_performance, partial_outage, major_outage or under_maintenance", state)
	}
	c[id] = state
	return nil
}

// componentIDs is a repeatable --component ID flag.
type componentIDs []string

func (c *componentIDs) String() string { return strings.Join(*c, ",") }

func (c *componentIDs) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if !isID(id) {
			return fmt.Errorf("%q is not a component id", id)
		}
		*c = append(*c, id)
	}
	return nil
}

// putUpdate sets an update's optional fields in body: "components" from
// --component, when any, and "at" from --at, when given (the time an
// update is shown at, to import history).
func putUpdate(body map[string]any, comps componentStates, at string) error {
	if len(comps) > 0 {
		body["components"] = comps
	}
	if at == "" {
		return nil
	}
	if err := checkTime("at", at); err != nil {
		return err
	}
	body["at"] = at
	return nil
}

// checkTime checks a time flag given as RFC 3339.
func checkTime(flagName, v string) error {
	if _, err := time.Parse(time.RFC3339, v); err != nil {
		return usageError{fmt.Sprintf("--%s must be an RFC 3339 time such as 2026-03-07T09:00:00Z, not %q", flagName, v)}
	}
	return nil
}

// incidentView is the part of an incident the CLI shows.
type incidentView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Impact         string     `json:"impact"`
	Maintenance    bool       `json:"maintenance"`
	ScheduledFor   *time.Time `json:"scheduled_for"`
	ScheduledUntil *time.Time `json:"scheduled_until"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Postmortem     *struct {
		Published bool `json:"published"`
	} `json:"postmortem"`
	Updates []struct {
		ID       string    `json:"id"`
		Status   string    `json:"status"`
		Message  string    `json:"message"`
		At       time.Time `json:"at"`
		Affected []struct {
			Name     string `json:"name"`
			OldState string `json:"old_state"`
			NewState string `json:"new_state"`
		} `json:"affected_components"`
	} `json:"updates"`
	Update *struct {
		ID string `json:"id"`
	} `json:"update"`
}

func (inc incidentView) kind() string {
	if inc.Maintenance {
		return "Maintenance"
	}
	return "Incident"
}

// statusPost opens an incident.
func statusPost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("post", stderr)
	name := fs.String("name", "", "the incident's title (required)")
	status := fs.String("status", "investigating", "investigating, identified, monitoring or resolved")
	impact := fs.String("impact", "", "none, minor, major or critical (default: from the worst component state)")
	message := fs.String("message", "", "the first update's text")
	at := fs.String("at", "", "when it began, RFC 3339, to import a past incident (default now)")
	quiet := fs.Bool("q", false, "print only the new incident's id")
	comps := componentStates{}
	fs.Var(comps, "component", "ID=STATE: set a component's state (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("status post takes no arguments, got %q (quote the --name and --message values)", pos)}
	}
	if *name == "" {
		return usageError{"status post needs --name"}
	}
	body := map[string]any{"name": *name, "status": *status, "message": *message}
	if *impact != "" {
		body["impact"] = *impact
	}
	if err := putUpdate(body, comps, *at); err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var inc incidentView
	if err := c.do(ctx, "POST", "/api/v1/status/incidents", body, &inc); err != nil {
		return err
	}
	if *quiet {
		fmt.Fprintln(stdout, inc.ID)
		return nil
	}
	fmt.Fprintf(stdout, "Incident %s opened: %s, impact %s: %s\n", inc.ID, inc.Status, inc.Impact, inc.Name)
	return nil
}

// statusUpdate adds an update to an incident or maintenance.
func statusUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("update", stderr)
	status := fs.String("status", "", "the new status (default: unchanged)")
	message := fs.String("message", "", "the update's text")
	at := fs.String("at", "", "when it was posted, RFC 3339, to import history (default now)")
	comps := componentStates{}
	fs.Var(comps, "component", "ID=STATE: set a component's state (repeatable)")
	id, err := parseID(fs, args, "incident")
	if err != nil {
		return err
	}
	if *status == "" && *message == "" && len(comps) == 0 {
		return usageError{"status update needs --status, --message or --component"}
	}
	body := map[string]any{"message": *message}
	if *status != "" {
		body["status"] = *status
	}
	if err := putUpdate(body, comps, *at); err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	return postUpdate(ctx, c, id, body, stdout)
}

func postUpdate(ctx context.Context, c *apiClient, id string, body map[string]any, stdout io.Writer) error {
	var inc incidentView
	if err := c.do(ctx, "POST", "/api/v1/status/incidents/"+id+"/updates", body, &inc); err != nil {
		return err
	}
	update := ""
	if inc.Update != nil {
		update = " (update " + inc.Update.ID + ")"
	}
	fmt.Fprintf(stdout, "%s %s is %s%s: %s\n", inc.kind(), inc.ID, inc.Status, update, inc.Name)
	return nil
}

// statusResolve resolves an incident, or completes a maintenance. Without
// --component, the components the incident set go back to operational.
func statusResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("resolve", stderr)
	message := fs.String("message", "", "the closing update's text")
	at := fs.String("at", "", "when it was resolved, RFC 3339, to import history (default now)")
	id, err := parseID(fs, args, "incident")
	if err != nil {
		return err
	}
	body := map[string]any{"status": "resolved", "message": *message}
	if err := putUpdate(body, nil, *at); err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var inc incidentView
	if err := c.do(ctx, "GET", "/api/v1/status/incidents/"+id, nil, &inc); err != nil {
		return err
	}
	if inc.Maintenance {
		body["status"] = "completed"
	}
	return postUpdate(ctx, c, id, body, stdout)
}

// statusMaintenance schedules a maintenance.
func statusMaintenance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("maintenance", stderr)
	name := fs.String("name", "", "the maintenance's title (required)")
	message := fs.String("message", "", "what will happen")
	from := fs.String("from", "", "when it starts, RFC 3339 (required)")
	until := fs.String("until", "", "when it ends, RFC 3339 (required)")
	quiet := fs.Bool("q", false, "print only the new maintenance's id")
	var comps componentIDs
	fs.Var(&comps, "component", "ID of a component under maintenance (repeatable, or comma-separated)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	switch {
	case *name == "":
		return usageError{"status maintenance needs --name"}
	case *from == "" || *until == "":
		return usageError{"status maintenance needs --from and --until"}
	}
	if err := checkTime("from", *from); err != nil {
		return err
	}
	if err := checkTime("until", *until); err != nil {
		return err
	}
	body := map[string]any{"name": *name, "message": *message, "scheduled_for": *from, "scheduled_until": *until,
		"components": append([]string{}, comps...)}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var inc incidentView
	if err := c.do(ctx, "POST", "/api/v1/status/maintenances", body, &inc); err != nil {
		return err
	}
	if *quiet {
		fmt.Fprintln(stdout, inc.ID)
		return nil
	}
	fmt.Fprintf(stdout, "Maintenance %s scheduled from %s until %s: %s\n", inc.ID, fmtTime(inc.ScheduledFor), fmtTime(inc.ScheduledUntil), inc.Name)
	return nil
}

// statusPostmortem sets an incident's postmortem from a Markdown file.
// Without --publish it stays a draft.
func statusPostmortem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("postmortem", stderr)
	file := fs.String("file", "", "the postmortem, Markdown (- for stdin; required)")
	publish := fs.Bool("publish", false, "publish it now")
	publishAt := fs.String("publish-at", "", "publish it at this RFC 3339 time")
	id, err := parseID(fs, args, "incident")
	if err != nil {
		return err
	}
	if *file == "" {
		return usageError{"status postmortem needs --file PM.md"}
	}
	if *publish && *publishAt != "" {
		return usageError{"give --publish or --publish-at, not both"}
	}
	var text []byte
	if *file == "-" {
		text, err = io.ReadAll(os.Stdin)
	} else {
		text, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("reading the postmortem: %w", err)
	}
	body := map[string]any{"body": string(text), "published_at": nil}
	switch {
	case *publish:
		body["published_at"] = time.Now().UTC().Format(time.RFC3339)
	case *publishAt != "":
		if err := checkTime("publish-at", *publishAt); err != nil {
			return err
		}
		body["published_at"] = *publishAt
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var inc incidentView
	if err := c.do(ctx, "PUT", "/api/v1/status/incidents/"+id+"/postmortem", body, &inc); err != nil {
		return err
	}
	state := "saved as a draft"
	switch {
	case inc.Postmortem != nil && inc.Postmortem.Published:
		state = "published"
	case body["published_at"] != nil:
		state = "scheduled for " + fmt.Sprint(body["published_at"])
	}
	fmt.Fprintf(stdout, "Postmortem of incident %s %s; the incident is %s.\n", inc.ID, state, inc.Status)
	return nil
}

// statusIncidents lists incidents and maintenances, newest first.
func statusIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("incidents", stderr)
	limit := fs.Int("limit", 20, "at most this many (1-1000)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return usageError{"--limit must be from 1 to 1000"}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var out struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	if err := c.do(ctx, "GET", "/api/v1/status/incidents?"+url.Values{"limit": {strconv.Itoa(*limit)}}.Encode(), nil, &out); err != nil {
		return err
	}
	return printList(stdout, out.Incidents, *asJSON, "No incidents.", "incident", "ID\tKIND\tSTATUS\tIMPACT\tSTARTED\tLAST UPDATE\tNAME",
		func(inc *incidentView) string {
			started := &inc.CreatedAt
			if inc.Maintenance && inc.ScheduledFor != nil {
				started = inc.ScheduledFor // a maintenance starts when scheduled
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", inc.ID, strings.ToLower(inc.kind()), inc.Status, inc.Impact,
				fmtTime(started), fmtTime(&inc.UpdatedAt), inc.Name)
		})
}

// statusShowIncident prints one incident with its updates, newest first.
func statusShowIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("incident", stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	id, err := parseID(fs, args, "incident")
	if err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/status/incidents/"+id, nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, raw)
	}
	var inc incidentView
	if err := json.Unmarshal(raw, &inc); err != nil {
		return fmt.Errorf("unexpected incident from server: %w", err)
	}
	fmt.Fprintf(stdout, "%s %s: %s\nStatus %s, impact %s\n", inc.kind(), inc.ID, inc.Name, inc.Status, inc.Impact)
	if inc.Maintenance {
		fmt.Fprintf(stdout, "Scheduled from %s until %s\n", fmtTime(inc.ScheduledFor), fmtTime(inc.ScheduledUntil))
	}
	switch {
	case inc.Postmortem == nil:
	case inc.Postmortem.Published:
		fmt.Fprintln(stdout, "Postmortem: published")
	default:
		fmt.Fprintln(stdout, "Postmortem: draft")
	}
	for _, u := range inc.Updates {
		fmt.Fprintf(stdout, "\n%s  %s\n", fmtTime(&u.At), u.Status)
		if u.Message != "" {
			fmt.Fprintf(stdout, "  %s\n", strings.ReplaceAll(u.Message, "\n", "\n  "))
		}
		for _, a := range u.Affected {
			fmt.Fprintf(stdout, "  %s: %s -> %s\n", a.Name, a.OldState, a.NewState)
		}
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
