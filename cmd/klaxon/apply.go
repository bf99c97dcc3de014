package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/klaxonhq/klaxon/internal/apply"
)

// applyFiles makes the server match YAML files: klaxon apply -f FILE|DIR
// [--dry-run]. Objects the server has and the files do not are listed and
// kept.
func applyFiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var files multiFlag
	fs.Var(&files, "f", "a YAML file, or a directory of them (repeatable)")
	dryRun := fs.Bool("dry-run", false, "print what would change, and change nothing")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("apply takes files with -f, got %q", fs.Args())}
	}
	if len(files) == 0 {
		return usageError{"apply needs -f FILE or -f DIR"}
	}
	doc, err := apply.Load(files...)
	if err != nil {
		return err
	}
	c, err := cf.client(true)
	if err != nil {
		return err
	}
	plan, err := apply.Build(ctx, c, doc)
	if err != nil {
		return err
	}
	if *dryRun {
		plan.Write(stdout)
		return nil
	}
	return plan.Apply(ctx, c, stdout)
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
