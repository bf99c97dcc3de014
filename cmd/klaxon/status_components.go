package main

// The page and its components, from a shell: "klaxon status components",
// "component add|set" and "page".

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/klaxonhq/klaxon"
)

// componentView is the part of a component the CLI shows.
type componentView struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Group    bool    `json:"group"`
	GroupID  *string `json:"group_id"`
	Position int     `json:"position"`
	State    string  `json:"state"`
}

// statusComponents lists the components in page order, members indented
// under their group.
func statusComponents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("components", stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var out struct {
		Components []json.RawMessage `json:"components"`
	}
	if err := c.do(ctx, "GET", "/api/v1/status/components", nil, &out); err != nil {
		return err
	}
	return printList(stdout, out.Components, *asJSON, "No components.", "component", "ID\tNAME\tSTATE\tPOSITION",
		func(cv *componentView) string {
			name := cv.Name
			switch {
			case cv.Group:
				name += " (group)"
			case cv.GroupID != nil:
				name = "  " + name
			}
			return fmt.Sprintf("%s\t%s\t%s\t%d", cv.ID, name, cv.State, cv.Position)
		})
}

// statusComponentAdd adds a component, in a group created when missing.
func statusComponentAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("component add", stderr)
	name := fs.String("name", "", "the component's name (required)")
	group := fs.String("group", "", "the group to put it in, created when missing")
	description := fs.String("description", "", "what it is, for visitors")
	quiet := fs.Bool("q", false, "print only the new component's id")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"status component add needs --name"}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var cv componentView
	body := map[string]any{"name": *name, "group": *group, "description": *description}
	if err := c.do(ctx, "POST", "/api/v1/status/components", body, &cv); err != nil {
		return err
	}
	if *quiet {
		fmt.Fprintln(stdout, cv.ID)
		return nil
	}
	in := ""
	if *group != "" {
		in = " in group " + *group
	}
	fmt.Fprintf(stdout, "Component %s added%s: %s (%s)\n", cv.ID, in, cv.Name, cv.State)
	return nil
}

// statusComponentSet changes a component: its state by hand, its place,
// group, name or description.
func statusComponentSet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("component set", stderr)
	state := fs.String("state", "", "operational, degraded_performance, partial_outage, major_outage or under_maintenance")
	position := fs.Int("position", 0, "move it to this 1-based place among its siblings")
	fs.String("group", "", `move it into this group (created when missing); "" takes it out of its group`)
	fs.String("name", "", "rename it")
	fs.String("description", "", "what it is, for visitors")
	id, err := parseID(fs, args, "component")
	if err != nil {
		return err
	}
	body := givenFields(fs, "state", "position", "group", "name", "description")
	if len(body) == 0 {
		return usageError{"status component set needs --state, --position, --group, --name or --description"}
	}
	if _, ok := body["state"]; ok && !klaxon.ComponentState(*state).Valid() {
		return usageError{fmt.Sprintf("--state must be operational, degraded_performance, partial_outage, major_outage or under_maintenance, not %q", *state)}
	}
	if _, ok := body["position"]; ok && *position < 1 {
		return usageError{"--position must be 1 or more"}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var cv componentView
	if err := c.do(ctx, "PATCH", "/api/v1/status/components/"+id, body, &cv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Component %s: %s is %s, position %d\n", cv.ID, cv.Name, cv.State, cv.Position)
	return nil
}

// statusPageSettings shows the page's settings, or changes the ones given.
func statusPageSettings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// --url is the page's address here, so the server's is --server (or
	// KLAXON_URL, as everywhere): the client flags, with --url renamed.
	fs := flag.NewFlagSet("status page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	client := flag.NewFlagSet("", flag.ContinueOnError)
	cf.register(client)
	client.VisitAll(func(f *flag.Flag) {
		name := f.Name
		if name == "url" {
			name = "server"
		}
		fs.Var(f.Value, name, f.Usage)
	})
	fs.String("name", "", "the page's name")
	fs.String("time-zone", "", "the IANA time zone the page shows times in (Europe/Paris)")
	fs.String("url", "", `the page's public address ("" for the address each request came to)`)
	fs.String("description", "", "a line under the page's name")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	patch := givenFields(fs, "name", "time-zone", "url", "description")
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var page struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		TimeZone    string `json:"time_zone"`
		URL         string `json:"url"`
	}
	if len(patch) == 0 {
		err = c.do(ctx, "GET", "/api/v1/status/page", nil, &page)
	} else {
		err = c.do(ctx, "PATCH", "/api/v1/status/page", patch, &page)
	}
	if err != nil {
		return err
	}
	u := page.URL
	if u == "" {
		u = "(the address each request came to)"
	}
	fmt.Fprintf(stdout, "Name:        %s\nDescription: %s\nTime zone:   %s\nURL:         %s\n", page.Name, page.Description, page.TimeZone, u)
	return nil
}

// givenFields is a PATCH body of those of the named flags given on the
// command line, with their values, each under its flag's name with _ for -
// (--time-zone is time_zone): a PATCH changes only what was asked.
func givenFields(fs *flag.FlagSet, names ...string) map[string]any {
	body := map[string]any{}
	fs.Visit(func(f *flag.Flag) {
		if slices.Contains(names, f.Name) {
			body[strings.ReplaceAll(f.Name, "-", "_")] = f.Value.(flag.Getter).Get()
		}
	})
	return body
}
