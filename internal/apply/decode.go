package apply

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/klaxonhq/klaxon"
)

// decode fills v (a pointer to a struct) from a YAML mapping node, strictly:
// every key must be one of the struct's `yaml` field names, given once, and
// every value must have the field's type. Errors name the file, the line and
// the field's path. yaml.v3's own decoder can refuse unknown keys but reports
// type errors without the field, so the walk is done here; it also records
// the line of every field path, so that errors found later (by validation or
// by the server) can point at the line too.
type decoder struct {
	file  string
	lines map[string]int // field path -> line
}

// Error is a mistake in a file: where it is, which field, and what is wrong.
type Error struct {
	File    string
	Line    int
	Field   string
	Message string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field == "" {
		return loc + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Message)
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) error {
	return &Error{File: d.file, Line: n.Line, Field: path, Message: fmt.Sprintf(format, args...)}
}

func (d *decoder) value(n *yaml.Node, path string, v reflect.Value) error {
	if n.Kind == yaml.AliasNode {
		return d.fail(n, path, "aliases (*name) are not supported; write the value out")
	}
	d.lines[path] = n.Line
	switch v.Kind() {
	case reflect.Struct:
		return d.mapping(n, path, v)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.fail(n, path, "must be a list")
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			if err := d.value(item, fmt.Sprintf("%s[%d]", path, i), v.Index(i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		v.Set(reflect.New(v.Type().Elem()))
		return d.value(n, path, v.Elem())
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return d.fail(n, path, "must be a single value (text)")
		}
		// The text as written: "+447700900123" and "09:00" stay themselves
		// even though YAML would read them as numbers.
		v.SetString(n.Value)
		return nil
	case reflect.Int:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return d.fail(n, path, "must be a whole number, not %q", klaxon.Truncate(n.Value, 40))
		}
		i, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", ""))
		if err != nil {
			return d.fail(n, path, "must be a whole number, not %q", klaxon.Truncate(n.Value, 40))
		}
		v.SetInt(int64(i))
		return nil
	}
	return fmt.Errorf("apply: cannot decode into %s", v.Type())
}

func (d *decoder) mapping(n *yaml.Node, path string, v reflect.Value) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n, path, "must be a mapping of field: value")
	}
	fields := map[string]int{}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		field := joinPath(path, key.Value)
		idx, ok := fields[key.Value]
		if !ok {
			return d.fail(key, field, "is not a known field (known: %s)", strings.Join(names, ", "))
		}
		if seen[key.Value] {
			return d.fail(key, field, "appears more than once")
		}
		seen[key.Value] = true
		if err := d.value(val, field, v.Field(idx)); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf finds the line of path, or of its nearest recorded parent, so that
// an error about "layers[0].users[2]" points at that user even when the
// server names it.
func (d *decoder) lineOf(path string) int {
	for p := path; p != ""; {
		if line, ok := d.lines[p]; ok {
			return line
		}
		if i := strings.LastIndexAny(p, ".["); i >= 0 {
			p = p[:i]
		} else {
			break
		}
	}
	return 0
}
