package statuspage

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon"
	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"
)

// Everything an admin types is shown to the world. These payloads go into
// every text field; no rendered document may carry them as markup.
const (
	xssScript  = `<script>alert("name")</script>`
	xssImage   = `<img src=x onerror="alert(1)">`
	xssAttr    = `" onmouseover="alert(2)`
	xssComment = `--><svg onload=alert(3)>`
)

var xssMarkdown = strings.Join([]string{
	"# Title <script>alert(4)</script>",
	`<img src=x onerror="alert(5)">`,
	"[plain](javascript:alert(6))",
	"[mixed case](JaVaScRiPt:alert(7))",
	"[entity](jav&#x61;script:alert(8))",
	"[spaced](<java\tscript:alert(9)>)",
	"[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMCk8L3NjcmlwdD4=)",
	"[vb](vbscript:msgbox(11))",
	"<javascript:alert(12)>",
	"![image](javascript:alert(13))",
	`<a href="javascript:alert(14)">raw link</a>`,
	"<iframe src=https://evil.example></iframe>",
	"[fine](https://example.com/ok) and <https://example.com/auto> and www.example.com",
}, "\n\n")

func xssSnapshot() klaxon.StatusSnapshot {
	snap := fixtureSnapshot()
	snap.Page.Name = "Page " + xssScript
	snap.Page.Description = "About " + xssImage + xssAttr
	for i := range snap.Components {
		snap.Components[i].Name += " " + xssScript + xssAttr
		snap.Components[i].Description = xssImage + xssComment
	}
	for i := range snap.Incidents {
		inc := &snap.Incidents[i]
		inc.Name += " " + xssImage + xssAttr
		inc.Postmortem = xssMarkdown
		inc.PostmortemPublishedAt = pst(1, 21, 0, 0)
		for j := range inc.Updates {
			inc.Updates[j].Body += "\n" + xssScript + xssComment + xssAttr
			for k := range inc.Updates[j].Affected {
				inc.Updates[j].Affected[k].Name += xssImage
			}
		}
	}
	return snap
}

// TestXSSInHTML parses every HTML page and checks that nothing an admin
// wrote became an element, an event handler or a script URL.
func TestXSSInHTML(t *testing.T) {
	docs, err := render(xssSnapshot(), fixtureNow, "https://status.example.com", renderOptions{Subscribe: true})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for path, d := range docs {
		if d.kind != kindHTML {
			continue
		}
		checked++
		checkMarkup(t, path, d.body)
		// The payloads are there, as text.
		if !bytes.Contains(d.body, []byte("&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;")) {
			t.Errorf("%s: the page name is not shown escaped", path)
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d HTML documents", checked)
	}
	pm := string(docs["/incidents/90"].body)
	for _, want := range []string{`href="https://example.com/ok"`, `href="https://example.com/auto"`, `href="http://www.example.com"`, `rel="nofollow noopener noreferrer"`} {
		if !strings.Contains(pm, want) {
			t.Errorf("the postmortem lost a safe link: %s", want)
		}
	}
}

// checkMarkup fails on any script, frame, event handler or script URL.
func checkMarkup(t *testing.T, path string, body []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Errorf("%s: %v", path, z.Err())
			}
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		switch tok.Data {
		case "script", "iframe", "object", "embed", "svg", "math", "base", "meta":
			if tok.Data == "meta" && len(tok.Attr) > 0 && (tok.Attr[0].Key == "charset" || tok.Attr[0].Key == "name") {
				continue
			}
			t.Errorf("%s: a <%s> element", path, tok.Data)
		}
		for _, a := range tok.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("%s: <%s> has an event handler %s=%q", path, tok.Data, a.Key, a.Val)
			}
			if a.Key == "href" || a.Key == "src" || a.Key == "action" {
				v := strings.ToLower(strings.Join(strings.Fields(a.Val), ""))
				if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") || strings.HasPrefix(v, "data:text") || strings.Contains(v, "script:") {
					t.Errorf("%s: <%s %s=%q>", path, tok.Data, a.Key, a.Val)
				}
			}
		}
	}
}

// TestXSSInMarkdown checks the postmortem renderer alone, payload by
// payload.
func TestXSSInMarkdown(t *testing.T) {
	md := newMarkdown()
	for _, src := range strings.Split(xssMarkdown, "\n\n") {
		out, err := renderMarkdown(md, src)
		if err != nil {
			t.Fatal(err)
		}
		checkMarkup(t, src, []byte(out))
		if strings.Contains(strings.ToLower(string(out)), "<script") || strings.Contains(string(out), "<iframe") {
			t.Errorf("%q rendered as %q", src, out)
		}
	}
	for raw, safe := range map[string]bool{
		"https://example.com": true, "/incidents/1": true, "#x": true, "mailto:a@b.c": true, "relative/path": true,
		"javascript:alert(1)": false, " javascript:alert(1)": false, "java\tscript:alert(1)": false, "JAVASCRIPT:x": false,
		"data:text/html,x": false, "jav&#x61;script:x": false, "&#106;avascript:x": false, "vbscript:x": false, "file:///etc/passwd": false, "\x01javascript:x": false,
	} {
		if got := safeURL(raw); got != safe {
			t.Errorf("safeURL(%q) = %v, want %v", raw, got, safe)
		}
	}
}

// TestXSSInJSONAndFeeds checks that the JSON carries the texts as data
// (escaped for embedding in HTML) and the feeds as escaped HTML.
func TestXSSInJSONAndFeeds(t *testing.T) {
	docs, err := render(xssSnapshot(), fixtureNow, "https://status.example.com", renderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for path, d := range docs {
		if d.kind == kindJSON {
			if bytes.Contains(d.body, []byte("<")) {
				t.Errorf("%s holds a raw <", path)
			}
			if !json.Valid(d.body) {
				t.Errorf("%s is not JSON", path)
			}
		}
	}
	var summary struct {
		Page struct{ Name string } `json:"page"`
	}
	if err := json.Unmarshal(docs["/api/v2/summary.json"].body, &summary); err != nil || summary.Page.Name != "Page "+xssScript {
		t.Errorf("the JSON does not carry the name as data: %q %v", summary.Page.Name, err)
	}
	for _, path := range []string{"/history.atom", "/history.rss"} {
		feed, err := gofeed.NewParser().ParseString(string(docs[path].body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, item := range feed.Items {
			content := item.Content + item.Description
			if content == "" {
				t.Errorf("%s: item %q has no content", path, item.Title)
			}
			// The content is HTML; parsed, it holds no markup from the admin.
			checkMarkup(t, path+" "+item.Title, []byte(content))
			if !strings.Contains(content, "&lt;script&gt;") {
				t.Errorf("%s: item %q does not show the update text escaped", path, item.Title)
			}
			if !strings.Contains(item.Title, xssImage) {
				t.Errorf("%s: title %q lost its text", path, item.Title)
			}
		}
	}
}
