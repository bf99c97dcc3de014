package main

// The page and its components, from a shell: "klaxon status components",
// "component add|set" and "page".

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

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
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("status components takes no arguments, got %q", pos)}
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
	if *asJSON {
		return printJSON(stdout, out.Components)
	}
	if len(out.Components) == 0 {
		fmt.Fprintln(stdout, "No components.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tPOSITION")
	for _, raw := range out.Components {
		var cv componentView
		if err := json.Unmarshal(raw, &cv); err != nil {
			return fmt.Errorf("unexpected component from server: %w", err)
		}
		name := cv.Name
		switch {
		case cv.Group:
			name += " (group)"
		case cv.GroupID != nil:
			name = "  " + name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", cv.ID, name, cv.State, cv.Position)
	}
	return tw.Flush()
}

// statusComponentAdd adds a component, in a group created when missing.
func statusComponentAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := statusFlags("component add", stderr)
	name := fs.String("name", "", "the component's name (required)")
	group := fs.String("group", "", "the group to put it in, created when missing")
	description := fs.String("description", "", "what it is, for visitors")
	quiet := fs.Bool("q", false, "print only the new component's id")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("status component add takes no arguments, got %q", pos)}
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
	group := fs.String("group", "", `move it into this group (created when missing); "" takes it out of its group`)
	name := fs.String("name", "", "rename it")
	description := fs.String("description", "", "what it is, for visitors")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	id, err := oneID("component", "component set", pos)
	if err != nil {
		return err
	}
	body := map[string]any{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "state":
			body["state"] = *state
		case "position":
			body["position"] = *position
		case "group":
			body["group"] = *group
		case "name":
			body["name"] = *name
		case "description":
			body["description"] = *description
		}
	})
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
	// KLAXON_URL, as everywhere).
	fs := flag.NewFlagSet("status page", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	fs.StringVar(&cf.url, "server", envOr("KLAXON_URL", "http://127.0.0.1:8080"), "Klaxon server URL (env KLAXON_URL)")
	fs.StringVar(&cf.token, "token", envOr("KLAXON_TOKEN", ""), "API token (env KLAXON_TOKEN)")
	name := fs.String("name", "", "the page's name")
	timeZone := fs.String("time-zone", "", "the IANA time zone the page shows times in (Europe/Paris)")
	pageURL := fs.String("url", "", `the page's public address ("" for the address each request came to)`)
	description := fs.String("description", "", "a line under the page's name")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("status page takes no arguments, got %q", pos)}
	}
	patch := map[string]any{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "name":
			patch["name"] = *name
		case "time-zone":
			patch["time_zone"] = *timeZone
		case "url":
			patch["url"] = *pageURL
		case "description":
			patch["description"] = *description
		}
	})
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
