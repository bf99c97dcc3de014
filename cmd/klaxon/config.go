package main

import (
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
	// Values are read as written (yaml.Node), not as YAML's types: a token
	// 0012345 is not an octal number, nor +14155550100 an integer.
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return usageError{fmt.Sprintf("--config: %s: %v", path, err)}
	}
	settings := map[string]*yaml.Node{}
	if len(doc.Content) > 0 {
		top := doc.Content[0]
		if top.Kind != yaml.MappingNode {
			return usageError{fmt.Sprintf("--config: %s: must be a mapping of settings (smtp-url: …)", path)}
		}
		for k := 0; k+1 < len(top.Content); k += 2 {
			settings[top.Content[k].Value] = top.Content[k+1]
		}
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

// settingValues renders a YAML value as flag values, as written: a scalar
// is one, a list of scalars is one per item (for repeatable flags).
func settingValues(v *yaml.Node) ([]string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, fmt.Errorf("has no value")
	case v.Kind == yaml.ScalarNode:
		return []string{v.Value}, nil
	case v.Kind == yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return nil, fmt.Errorf("list items must be plain values")
			}
			out = append(out, item.Value)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("must be a value or a list of values, not a mapping")
	}
}
