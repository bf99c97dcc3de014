package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A config file holds the same settings as the flags, by flag name, in
// YAML, so that a deployment can keep them in one file:
//
//	listen: 0.0.0.0:8080
//	public-url: https://klaxon.example.com
//	smtp-url: smtps://klaxon:secret@mail.example.com
//	sms-gateway-header: ["Authorization: Bearer xyz"]
//
// A flag on the command line wins over the environment, which wins over
// the file.

// maxConfigBytes bounds the file: settings, not data.
const maxConfigBytes = 1 << 20

// applyConfigFile sets, from the YAML file at path, every flag of fs that
// was neither given on the command line nor set by its KLAXON_* variable.
// Unknown keys are errors naming the key, so a typo is not silently
// ignored.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return usageError{fmt.Sprintf("--config: %v", err)}
	}
	if len(raw) > maxConfigBytes {
		return usageError{fmt.Sprintf("--config: %s is larger than 1 MiB", path)}
	}
	var settings map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&settings); err != nil && err.Error() != "EOF" {
		return usageError{fmt.Sprintf("--config: %s: %v", path, err)}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range keys {
		if name == "config" || fs.Lookup(name) == nil {
			return usageError{fmt.Sprintf("--config: %s: unknown setting %q (settings are flag names, such as smtp-url)", path, name)}
		}
		env := "KLAXON_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if given[name] || os.Getenv(env) != "" {
			continue
		}
		values, err := settingValues(settings[name])
		if err != nil {
			return usageError{fmt.Sprintf("--config: %s: %s: %v", path, name, err)}
		}
		for _, v := range values {
			if err := fs.Set(name, v); err != nil {
				return usageError{fmt.Sprintf("--config: %s: %s: %v", path, name, err)}
			}
		}
	}
	return nil
}

// settingValues renders a YAML value as flag values: a scalar is one, a
// list of scalars is one per item (for repeatable flags).
func settingValues(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, fmt.Errorf("has no value")
	case map[string]any:
		return nil, fmt.Errorf("must be a value or a list of values, not a mapping")
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			switch item.(type) {
			case map[string]any, []any, nil:
				return nil, fmt.Errorf("list items must be plain values")
			}
			out = append(out, fmt.Sprint(item))
		}
		return out, nil
	default:
		return []string{fmt.Sprint(v)}, nil
	}
}
