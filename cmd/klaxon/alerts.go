package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// clientFlags are the flags every client command shares.
type clientFlags struct {
	url, token string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", envOr("KLAXON_URL", "http://127.0.0.1:8080"), "Klaxon server URL (env KLAXON_URL)")
	fs.StringVar(&c.token, "token", envOr("KLAXON_TOKEN", ""), "API token (env KLAXON_TOKEN)")
}

func (c *clientFlags) client(needToken bool) (*apiClient, error) {
	if needToken && c.token == "" {
		return nil, usageError{"an API token is required: pass --token or set KLAXON_TOKEN"}
	}
	return newAPIClient(c.url, c.token)
}

type alertRow struct {
	ID          string     `json:"id"`
	ServiceID   string     `json:"service_id"`
	DedupKey    string     `json:"dedup_key"`
	Status      string     `json:"status"`
	Severity    string     `json:"severity"`
	Summary     string     `json:"summary"`
	EventCount  int64      `json:"event_count"`
	CreatedAt   time.Time  `json:"created_at"`
	LastEventAt time.Time  `json:"last_event_at"`
	ResolvedAt  *time.Time `json:"resolved_at"`
}

// alerts lists alerts, newest first.
func alerts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	status := fs.String("status", "", "only alerts with this status: triggered, acknowledged or resolved")
	service := fs.String("service", "", "only alerts on this service id")
	limit := fs.Int("limit", 50, "at most this many alerts (1-1000)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("alerts takes no arguments, got %q", fs.Args())}
	}
	switch *status {
	case "", "triggered", "acknowledged", "resolved":
	default:
		return usageError{fmt.Sprintf("--status must be triggered, acknowledged or resolved, not %q", *status)}
	}
	if *limit < 1 || *limit > 1000 {
		return usageError{"--limit must be from 1 to 1000"}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *status != "" {
		q.Set("status", *status)
	}
	if *service != "" {
		q.Set("service", *service)
	}
	var out struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := c.do(ctx, "GET", "/api/v1/alerts?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	return printList(stdout, out.Alerts, *asJSON, "No alerts.", "alert", "ID\tSTATUS\tSEVERITY\tSERVICE\tEVENTS\tLAST EVENT\tSUMMARY",
		func(a *alertRow) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", a.ID, a.Status, a.Severity, a.ServiceID, a.EventCount,
				a.LastEventAt.Local().Format("2006-01-02 15:04:05"), a.Summary)
		})
}

// changeAlert acknowledges or resolves one alert by id.
func changeAlert(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Sprintf("%s takes exactly one alert id", verb)}
	}
	id := fs.Arg(0)
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n < 1 {
		return usageError{fmt.Sprintf("%q is not an alert id", id)}
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	var a alertRow
	if err := c.do(ctx, "POST", "/api/v1/alerts/"+id+"/"+verb, nil, &a); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Alert %s is %s: %s\n", a.ID, a.Status, a.Summary)
	return nil
}
