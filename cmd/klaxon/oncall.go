package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// oncall prints who is on call: on one schedule (--schedule NAME), or for
// every step of every escalation policy.
func oncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("oncall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	scheduleName := fs.String("schedule", "", "only this schedule (its name or id)")
	atFlag := fs.String("at", "", "the instant to ask about, RFC 3339 (2026-03-07T09:00:00Z); default now")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("oncall takes no arguments, got %q", fs.Args())}
	}
	at := time.Now()
	if *atFlag != "" {
		t, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			return usageError{fmt.Sprintf("--at must be an RFC 3339 time such as 2026-03-07T09:00:00Z, not %q", *atFlag)}
		}
		at = t
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	q := url.Values{"at": {at.UTC().Format(time.RFC3339Nano)}}
	if *scheduleName != "" {
		return scheduleOnCall(ctx, c, *scheduleName, q, stdout)
	}
	var out struct {
		OnCalls []struct {
			Policy   named      `json:"escalation_policy"`
			Level    int        `json:"escalation_level"`
			User     personJSON `json:"user"`
			Schedule *named     `json:"schedule"`
			Team     *named     `json:"team"`
		} `json:"oncalls"`
	}
	if err := c.do(ctx, "GET", "/api/v1/oncall?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if len(out.OnCalls) == 0 {
		fmt.Fprintln(stdout, "Nobody is on call: no escalation policy has anyone at that time.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tLEVEL\tNAME\tEMAIL\tVIA")
	for _, o := range out.OnCalls {
		via := "user"
		if o.Schedule != nil {
			via = "schedule " + o.Schedule.Name
		} else if o.Team != nil {
			via = "team " + o.Team.Name
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", o.Policy.Name, o.Level, o.User.Name, o.User.Email, via)
	}
	return tw.Flush()
}

type named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type personJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func scheduleOnCall(ctx context.Context, c *apiClient, nameOrID string, q url.Values, stdout io.Writer) error {
	id, name, err := findByName(ctx, c, "/api/v1/schedules", "schedules", nameOrID)
	if err != nil {
		return err
	}
	var out struct {
		Users []personJSON `json:"users"`
	}
	if err := c.do(ctx, "GET", "/api/v1/schedules/"+id+"/oncall?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if len(out.Users) == 0 {
		fmt.Fprintf(stdout, "Nobody is on call on %s at %s (a gap in the schedule).\n", name, q.Get("at"))
		return nil
	}
	for _, u := range out.Users {
		fmt.Fprintf(stdout, "%s <%s> is on call on %s\n", u.Name, u.Email, name)
	}
	return nil
}

// findByName finds an object in a list endpoint by its exact name, or by
// its id when nameOrID is a number. It walks every page.
func findByName(ctx context.Context, c *apiClient, path, listName, nameOrID string) (id, name string, err error) {
	if n, err := strconv.ParseInt(nameOrID, 10, 64); err == nil && n > 0 {
		var one named
		if err := c.do(ctx, "GET", path+"/"+nameOrID, nil, &one); err != nil {
			return "", "", err
		}
		return one.ID, one.Name, nil
	}
	items, err := listAll(ctx, c, path, listName)
	if err != nil {
		return "", "", err
	}
	for _, m := range items {
		if m["name"] == nameOrID {
			id, _ := m["id"].(string)
			return id, nameOrID, nil
		}
	}
	return "", "", fmt.Errorf("no %s named %q", strings.TrimSuffix(listName, "s"), nameOrID)
}
