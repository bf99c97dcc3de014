package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFileSetsFlagsBelowEnvironmentAndCommandLine(t *testing.T) {
	path := writeConfig(t, `
listen: 0.0.0.0:9000
public-url: https://klaxon.example.com
smtp-url: smtp://mail.example.com:587
smtp-from: Klaxon <klaxon@example.com>
rate-limit: 250
bundle-window: 2m
sms-gateway-header: ["Authorization: Bearer one", "X-Tenant: two"]
log-level: debug
`)
	t.Setenv("KLAXON_PUBLIC_URL", "https://from-env.example.com")
	c := parseServe(t, "--config", path, "--rate-limit", "10")
	switch {
	case c.listen != "0.0.0.0:9000":
		t.Errorf("listen %q, want the file's", c.listen)
	case c.publicURL != "https://from-env.example.com":
		t.Errorf("public-url %q, want the environment's over the file's", c.publicURL)
	case c.ratePerIntegration != 10:
		t.Errorf("rate-limit %v, want the command line's", c.ratePerIntegration)
	case c.channels.smtpURL != "smtp://mail.example.com:587" || c.channels.smtpFrom != "Klaxon <klaxon@example.com>":
		t.Errorf("smtp %q %q", c.channels.smtpURL, c.channels.smtpFrom)
	case c.channels.bundleWindow != 2*time.Minute:
		t.Errorf("bundle-window %v", c.channels.bundleWindow)
	case len(c.channels.gatewayHeaders.headers) != 2:
		t.Errorf("repeatable setting from a list: %v", c.channels.gatewayHeaders.headers)
	case c.logLevel.String() != "DEBUG":
		t.Errorf("log-level %v", c.logLevel)
	}
	// Values are taken as written, not as YAML numbers.
	raw := parseServe(t, "--config", writeConfig(t, "ntfy-token: 0012345\ntwilio-from: +14155550100\nsmtp-from: 1e3\n"))
	if raw.channels.ntfyToken != "0012345" || raw.channels.twilioFrom != "+14155550100" || raw.channels.smtpFrom != "1e3" {
		t.Errorf("values rewritten by YAML: %q %q %q", raw.channels.ntfyToken, raw.channels.twilioFrom, raw.channels.smtpFrom)
	}
	// KLAXON_CONFIG names the file too.
	t.Setenv("KLAXON_CONFIG", path)
	if c := parseServe(t); c.listen != "0.0.0.0:9000" {
		t.Errorf("KLAXON_CONFIG: listen %q", c.listen)
	}
}

func TestConfigFileMistakesNameTheSetting(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", "smtp_url: x\n", `unknown setting "smtp_url"`},
		{"not YAML", "listen: [\n", "klaxon.yaml"},
		{"a mapping", "listen: {host: x}\n", "listen: must be a value"},
		{"no value", "listen:\n", "listen: has no value"},
		{"bad value", "rate-limit: fast\n", "rate-limit"},
		{"nested list", "sms-gateway-header: [[a]]\n", "plain values"},
		{"config in config", "config: other.yaml\n", `unknown setting "config"`},
		{"a list at the top", "- listen\n", "must be a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := serveFlags([]string{"--config", writeConfig(t, tc.body)}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := serveFlags([]string{"--config", "/nonexistent/klaxon.yaml"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("missing file: %v", err)
	}
	// An empty file is no settings, not an error.
	if _, err := serveFlags([]string{"--config", writeConfig(t, "")}, &bytes.Buffer{}); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

// FuzzConfigFile: any file content either configures serve or is an error
// naming a setting; it never panics.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{"listen: 127.0.0.1:0\n", "sms-gateway-header: [\"A: b\"]\n", "rate-limit: x\n", "{", "- a\n- b\n", "listen: [1, {a: b}]\n", ""} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(dir, "klaxon.yaml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		// A value a flag's own later check refuses (log-level: loud) is
		// named by that flag instead of --config; either way, a message.
		if _, err := serveFlags([]string{"--config", path}, &bytes.Buffer{}); err != nil && !strings.Contains(err.Error(), "--") {
			t.Fatalf("an error that names no setting: %v", err)
		}
	})
}
