package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
)

// openAPIMethodKeys are the operation keys of an OpenAPI path item.
var openAPIMethodKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIExtraOperations are served by New outside routes().
var openAPIExtraOperations = []string{"GET /metrics"}

// loadOpenAPI decodes the embedded document.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(openAPIDocument))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if dec.More() {
		t.Fatalf("openapi.json has data after the JSON document")
	}
	return doc
}

// newTestServer builds a Server without a store. New does not touch the
// store; only scraping /metrics or calling a handler that needs it would.
func newOpenAPITestServer() *Server { return New(Config{}) }

// openAPIPath turns a ServeMux pattern path into an OpenAPI path template:
// "{name...}" becomes "{name}" and the "{$}" end anchor is dropped.
func openAPIPath(pattern string) string {
	pattern = strings.ReplaceAll(pattern, "{$}", "")
	return regexp.MustCompile(`\{([^{}.]+)\.\.\.\}`).ReplaceAllString(pattern, "{$1}")
}

// operations lists the document's operations as "METHOD /path".
func openAPIOperations(doc map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for path, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range openAPIMethodKeys {
			if op, ok := item[m].(map[string]any); ok {
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

func openAPISortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := newOpenAPITestServer()
	served := map[string]bool{}
	for _, rt := range s.routes() {
		key := rt.method + " " + openAPIPath(rt.pattern)
		if served[key] {
			t.Errorf("routes() lists %s twice", key)
		}
		served[key] = true
	}
	for _, key := range openAPIExtraOperations {
		served[key] = true
	}

	documented := openAPIOperations(loadOpenAPI(t))
	var missing, extra []string
	for _, key := range openAPISortedKeys(served) {
		if _, ok := documented[key]; !ok {
			missing = append(missing, key)
		}
	}
	for _, key := range openAPISortedKeys(documented) {
		if !served[key] {
			extra = append(extra, key)
		}
	}
	if len(missing) > 0 {
		t.Errorf("served but not in openapi.json:\n\t%s", strings.Join(missing, "\n\t"))
	}
	if len(extra) > 0 {
		t.Errorf("in openapi.json but not served:\n\t%s", strings.Join(extra, "\n\t"))
	}
}

func TestOpenAPIIsValidDocument(t *testing.T) {
	doc := loadOpenAPI(t)

	version, _ := doc["openapi"].(string)
	if !strings.HasPrefix(version, "3.") {
		t.Errorf("openapi is %q; want a 3.x version", version)
	}
	info, _ := doc["info"].(map[string]any)
	if title, _ := info["title"].(string); title == "" {
		t.Errorf("info.title is missing")
	}
	if v, _ := info["version"].(string); v == "" {
		t.Errorf("info.version is missing")
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatalf("paths is missing or empty")
	}
	components, _ := doc["components"].(map[string]any)
	schemes, _ := components["securitySchemes"].(map[string]any)

	// Security requirements must name declared schemes.
	checkSecurity := func(where string, v any) {
		reqs, ok := v.([]any)
		if !ok {
			t.Errorf("%s: security is not an array", where)
			return
		}
		for _, req := range reqs {
			req, ok := req.(map[string]any)
			if !ok {
				t.Errorf("%s: a security requirement is not an object", where)
				continue
			}
			for name := range req {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security names undeclared scheme %q", where, name)
				}
			}
		}
	}
	if v, ok := doc["security"]; ok {
		checkSecurity("document", v)
	}

	opIDs := map[string]string{}
	responseCode := regexp.MustCompile(`^[1-5]([0-9]{2}|XX)$`)
	templateParam := regexp.MustCompile(`\{([^{}]*)\}`)
	for _, path := range openAPISortedKeys(paths) {
		item, ok := paths[path].(map[string]any)
		if !ok {
			t.Errorf("%s: path item is not an object", path)
			continue
		}
		if !strings.HasPrefix(path, "/") {
			t.Errorf("%s: path does not start with /", path)
		}
		var inTemplate []string
		for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
			if m[1] == "" || slices.Contains(inTemplate, m[1]) {
				t.Errorf("%s: empty or repeated path parameter {%s}", path, m[1])
			}
			inTemplate = append(inTemplate, m[1])
		}
		pathLevel := openAPIPathParams(t, doc, path, item["parameters"])

		n := 0
		for _, method := range openAPIMethodKeys {
			op, ok := item[method].(map[string]any)
			if !ok {
				if _, present := item[method]; present {
					t.Errorf("%s %s: operation is not an object", strings.ToUpper(method), path)
				}
				continue
			}
			n++
			name := strings.ToUpper(method) + " " + path

			id, _ := op["operationId"].(string)
			switch {
			case id == "":
				t.Errorf("%s: no operationId", name)
			case opIDs[id] != "":
				t.Errorf("%s: operationId %q is also used by %s", name, id, opIDs[id])
			default:
				opIDs[id] = name
			}
			summary, _ := op["summary"].(string)
			if strings.TrimSpace(summary) == "" || strings.Contains(summary, "\n") {
				t.Errorf("%s: summary %q is not one line of text", name, summary)
			}

			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s: no responses", name)
			}
			for code := range responses {
				if code != "default" && !responseCode.MatchString(code) {
					t.Errorf("%s: response key %q is not a status code", name, code)
				}
			}

			if v, ok := op["security"]; ok {
				checkSecurity(name, v)
			}

			// Every template parameter is declared, at the path or the
			// operation; no path parameter is declared that the template
			// lacks.
			declared := map[string]bool{}
			for p := range pathLevel {
				declared[p] = true
			}
			for p := range openAPIPathParams(t, doc, name, op["parameters"]) {
				declared[p] = true
			}
			for _, p := range inTemplate {
				if !declared[p] {
					t.Errorf("%s: path parameter {%s} is not declared", name, p)
				}
			}
			for _, p := range openAPISortedKeys(declared) {
				if !slices.Contains(inTemplate, p) {
					t.Errorf("%s: declares path parameter %q that the path does not have", name, p)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no operations", path)
		}
	}

	// Every $ref points into components and resolves.
	openAPIWalkRefs(doc, "#", func(at, ref string) {
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components/", at, ref)
			return
		}
		if _, err := openAPIResolve(doc, ref); err != nil {
			t.Errorf("%s: $ref %q does not resolve: %v", at, ref, err)
		}
	})
}

// pathParams returns the names of the path parameters in a parameter list,
// following $refs, and checks that each is required.
func openAPIPathParams(t *testing.T, doc map[string]any, where string, v any) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	if v == nil {
		return out
	}
	list, ok := v.([]any)
	if !ok {
		t.Errorf("%s: parameters is not an array", where)
		return out
	}
	for i, p := range list {
		param, ok := p.(map[string]any)
		if ref, isRef := param["$ref"].(string); ok && isRef {
			resolved, err := openAPIResolve(doc, ref)
			if err != nil {
				continue // reported by the $ref check
			}
			param, ok = resolved.(map[string]any)
		}
		if !ok {
			t.Errorf("%s: parameters[%d] is not an object", where, i)
			continue
		}
		name, _ := param["name"].(string)
		in, _ := param["in"].(string)
		if name == "" || in == "" {
			t.Errorf("%s: parameters[%d] lacks name or in", where, i)
			continue
		}
		if in != "path" {
			continue
		}
		if req, _ := param["required"].(bool); !req {
			t.Errorf("%s: path parameter %q is not required: true", where, name)
		}
		out[name] = true
	}
	return out
}

// walkRefs calls f with every $ref in v and the JSON pointer where it is.
func openAPIWalkRefs(v any, at string, f func(at, ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range openAPISortedKeys(v) {
			if k == "$ref" {
				if ref, ok := v[k].(string); ok {
					f(at, ref)
					continue
				}
			}
			openAPIWalkRefs(v[k], at+"/"+openAPIEscape(k), f)
		}
	case []any:
		for i, e := range v {
			openAPIWalkRefs(e, at+"/"+strconv.Itoa(i), f)
		}
	}
}

func openAPIEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// resolvePointer follows a local reference ("#/components/schemas/Alert").
func openAPIResolve(doc map[string]any, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("not a local reference")
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[2:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot step into %q", tok)
		}
	}
	return cur, nil
}

func TestOpenAPIServed(t *testing.T) {
	s := newOpenAPITestServer()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))

	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: status %d; want 200", rec.Code)
	}
	ct := rec.Header().Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		t.Errorf("Content-Type is %q; want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Errorf("served body (%d bytes) differs from the embedded openapi.json (%d bytes)", rec.Body.Len(), len(openAPIDocument))
	}
	if len(openAPIDocument) == 0 {
		t.Errorf("the embedded openapi.json is empty")
	}
}

// openAPIAuthStore answers only what authentication asks: API tokens by hash,
// integration keys (all unknown) and Ping. Any other method panics on the
// nil embedded Store, which the server's recovery turns into a 500: a sign
// that the request got past authentication.
type openAPIAuthStore struct {
	Store
	tokens map[[32]byte]klaxon.Role
}

func (s openAPIAuthStore) APITokenByHash(_ context.Context, hash []byte) (klaxon.APIToken, error) {
	if role, ok := s.tokens[[32]byte(hash)]; ok {
		return klaxon.APIToken{ID: 1, Name: string(role), Role: role}, nil
	}
	return klaxon.APIToken{}, klaxon.Errorf(klaxon.EUNAUTHORIZED, "unknown or revoked API token")
}

func (s openAPIAuthStore) IntegrationByKey(context.Context, []byte) (klaxon.Integration, klaxon.Service, error) {
	return klaxon.Integration{}, klaxon.Service{}, klaxon.Errorf(klaxon.EUNAUTHORIZED, "unknown integration key")
}

func (s openAPIAuthStore) Ping(context.Context) error { return nil }

// TestOpenAPISecurityMatchesHandlers checks each operation's security and the
// role its description names against what the handler enforces: a request
// without credentials, and requests with a token of each role.
func TestOpenAPISecurityMatchesHandlers(t *testing.T) {
	roles := []klaxon.Role{klaxon.RoleViewer, klaxon.RoleResponder, klaxon.RoleAdmin, klaxon.RoleOwner}
	store := openAPIAuthStore{tokens: map[[32]byte]klaxon.Role{}}
	for _, role := range roles {
		store.tokens[sha256.Sum256([]byte("secret-"+role))] = role
	}
	s := New(Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	status := func(method, path, secret string) int {
		req := httptest.NewRequest(method, path, nil)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}

	ops := openAPIOperations(loadOpenAPI(t))
	concrete := regexp.MustCompile(`\{[^{}]*\}`)
	for _, rt := range s.routes() {
		name := rt.method + " " + openAPIPath(rt.pattern)
		op, ok := ops[name]
		if !ok {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		path := concrete.ReplaceAllString(openAPIPath(rt.pattern), "1")
		schemes := openAPISecurity(op)
		desc, _ := op["description"].(string)

		if status(rt.method, path, "") != http.StatusUnauthorized {
			if len(schemes) > 0 {
				t.Errorf("%s: documented security %v, but it answers without credentials", name, schemes)
			}
			continue
		}
		if status(rt.method, path, "secret-"+string(klaxon.RoleOwner)) == http.StatusUnauthorized {
			// Not an API token: an integration key.
			if !slices.Contains(schemes, "integrationKey") {
				t.Errorf("%s: needs an integration key; documented security is %v", name, schemes)
			}
			continue
		}
		var need klaxon.Role
		for _, role := range roles {
			if code := status(rt.method, path, "secret-"+string(role)); code != http.StatusForbidden && code != http.StatusUnauthorized {
				need = role
				break
			}
		}
		if !slices.Equal(schemes, []string{"apiToken"}) {
			t.Errorf("%s: needs an API token; documented security is %v", name, schemes)
		}
		for _, role := range roles {
			named := strings.Contains(desc, "the "+string(role)+" role")
			if named != (role == need) {
				t.Errorf("%s: needs the %s role, but its description says %q", name, need, desc)
				break
			}
		}
	}
}

// securitySchemes lists the scheme names an operation's security accepts.
func openAPISecurity(op map[string]any) []string {
	var names []string
	reqs, _ := op["security"].([]any)
	for _, req := range reqs {
		req, _ := req.(map[string]any)
		names = append(names, openAPISortedKeys(req)...)
	}
	sort.Strings(names)
	return slices.Compact(names)
}
