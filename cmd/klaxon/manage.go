package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
)

// listing is a management list command: which endpoint it reads and how a
// row is shown.
type listing struct {
	path, field string
	header      string
	row         func(m map[string]any) string
}

var listings = map[string]listing{
	"users": {"/api/v1/users", "users", "ID\tNAME\tEMAIL\tROLE\tTIME ZONE\tWARNINGS", func(m map[string]any) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", m["id"], m["name"], m["email"], m["role"], m["time_zone"], joinAny(m["warnings"]))
	}},
	"teams": {"/api/v1/teams", "teams", "ID\tNAME\tMEMBERS\tDESCRIPTION", func(m map[string]any) string {
		members, _ := m["members"].([]any)
		return fmt.Sprintf("%s\t%s\t%d\t%s", m["id"], m["name"], len(members), m["description"])
	}},
	"schedules": {"/api/v1/schedules", "schedules", "ID\tNAME\tTIME ZONE\tLAYERS", func(m map[string]any) string {
		layers, _ := m["layers"].([]any)
		return fmt.Sprintf("%s\t%s\t%s\t%d", m["id"], m["name"], m["time_zone"], len(layers))
	}},
	"policies": {"/api/v1/escalation-policies", "escalation_policies", "ID\tNAME\tSTEPS\tREPEAT", func(m map[string]any) string {
		steps, _ := m["steps"].([]any)
		return fmt.Sprintf("%s\t%s\t%d\t%v", m["id"], m["name"], len(steps), m["repeat"])
	}},
	"services": {"/api/v1/services", "services", "ID\tNAME\tSTATE\tESCALATION POLICY", func(m map[string]any) string {
		policy := "-"
		if p, ok := m["escalation_policy_id"].(string); ok {
			policy = p
		}
		return fmt.Sprintf("%s\t%s\t%s\t%s", m["id"], m["name"], m["state"], policy)
	}},
}

// list prints one kind of object: klaxon users|teams|schedules|policies|
// services [--json]. Creating and changing them is klaxon apply's job.
func list(ctx context.Context, kind string, args []string, stdout, stderr io.Writer) error {
	l := listings[kind]
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments, got %q", kind, fs.Args())}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	all, err := listAll(ctx, c, l.path, l.field)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, all)
	}
	if len(all) == 0 {
		fmt.Fprintf(stdout, "No %s.\n", kind)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, l.header)
	for _, m := range all {
		fmt.Fprintln(tw, l.row(m))
	}
	return tw.Flush()
}

// listAll reads every page of a list endpoint whose answer holds the list
// under field.
func listAll(ctx context.Context, c *apiClient, path, field string) ([]map[string]any, error) {
	var all []map[string]any
	for cursor := ""; ; {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page map[string]json.RawMessage
		if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		var items []map[string]any
		if err := json.Unmarshal(page[field], &items); err != nil {
			return nil, fmt.Errorf("unexpected answer from the server: %w", err)
		}
		all = append(all, items...)
		if json.Unmarshal(page["next_cursor"], &cursor) != nil || cursor == "" {
			return all, nil
		}
	}
}

func joinAny(v any) string {
	items, _ := v.([]any)
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprint(it))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "; ")
}
