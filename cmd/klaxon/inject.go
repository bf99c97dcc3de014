package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
)

// inject sends one event with an integration key, as a monitoring script
// would.
func inject(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inject", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	key := fs.String("key", envOr("KLAXON_INTEGRATION_KEY", ""), "integration key (env KLAXON_INTEGRATION_KEY)")
	action := fs.String("action", "trigger", "trigger, acknowledge or resolve")
	dedup := fs.String("dedup-key", "", "dedup key; events with the same key fold into one alert (generated when empty)")
	summary := fs.String("summary", "", "what is wrong (required for trigger)")
	severity := fs.String("severity", "critical", "critical, error, warning or info")
	source := fs.String("source", "", "where it happened (host, service)")
	component := fs.String("component", "", "the part affected")
	group := fs.String("group", "", "a logical grouping")
	class := fs.String("class", "", "the kind of problem")
	details := fs.String("details", "", "details as a JSON object")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("inject takes no arguments, got %q (did you forget --summary?)", fs.Args())}
	}
	if *key == "" {
		return usageError{"an integration key is required: pass --key or set KLAXON_INTEGRATION_KEY"}
	}
	ev := map[string]any{"action": *action}
	for name, v := range map[string]string{"dedup_key": *dedup, "summary": *summary, "source": *source,
		"component": *component, "group": *group, "class": *class} {
		if v != "" {
			ev[name] = v
		}
	}
	if *action == "trigger" {
		ev["severity"] = *severity
	}
	if *details != "" {
		var d map[string]any
		if err := json.Unmarshal([]byte(*details), &d); err != nil {
			return usageError{fmt.Sprintf("--details must be a JSON object: %v", err)}
		}
		ev["details"] = d
	}
	c, err := newAPIClient(cf.url, *key)
	if err != nil {
		return err
	}
	var out struct {
		AlertID  *string `json:"alert_id"`
		DedupKey string  `json:"dedup_key"`
	}
	if err := c.do(ctx, "POST", "/api/v1/events", ev, &out); err != nil {
		return err
	}
	if out.AlertID == nil {
		fmt.Fprintf(stdout, "Event accepted (dedup key %s); no open alert matched.\n", out.DedupKey)
		return nil
	}
	fmt.Fprintf(stdout, "Event accepted: alert %s, dedup key %s\n", *out.AlertID, out.DedupKey)
	return nil
}
