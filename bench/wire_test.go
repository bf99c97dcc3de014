package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	cases := []struct {
		name, in   string
		status     int
		keep       bool
		body, fail string
	}{
		{name: "content length", in: "HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhello", status: 202, keep: true, body: "hello"},
		{name: "lower-case headers and LF endings", in: "HTTP/1.1 200 OK\ncontent-length: 2\n\nok", status: 200, keep: true, body: "ok"},
		{name: "chunked with extension and trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", status: 200, keep: true, body: "abcde"},
		{name: "connection close", in: "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", status: 503, keep: false, body: "busy"},
		{name: "HTTP/1.0 does not keep", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, keep: false},
		{name: "no framing reads to the end", in: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, keep: false, body: "all of it"},
		{name: "no content has no body", in: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, keep: true},
		{name: "informational answers come first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok", status: 202, keep: true, body: "ok"},
		{name: "reason phrase optional", in: "HTTP/1.1 202\r\nContent-Length: 0\r\n\r\n", status: 202, keep: true},

		{name: "empty", in: "", fail: "EOF"},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", fail: "malformed status line"},
		{name: "letters for a status", in: "HTTP/1.1 abc OK\r\n\r\n", fail: "malformed status code"},
		{name: "status glued to reason", in: "HTTP/1.1 2022 OK\r\n\r\n", fail: "malformed status line"},
		{name: "header without colon", in: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", fail: "malformed header line"},
		{name: "negative length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", fail: "bad Content-Length"},
		{name: "huge length", in: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", fail: "bad Content-Length"},
		{name: "short body", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", fail: "unexpected EOF"},
		{name: "headers cut off", in: "HTTP/1.1 200 OK\r\nContent-Len", fail: "unexpected EOF"},
		{name: "gzip transfer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", fail: "unsupported Transfer-Encoding"},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", fail: "bad chunk size"},
		{name: "chunk size that would overflow the limit", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n7fffffffffffffff\r\n", fail: "bad chunk size"},
		{name: "chunk without CRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n", fail: "chunk not followed by CRLF"},
		{name: "chunk cut off", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", fail: "unexpected EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body bytes.Buffer
			status, keep, err := readResponse(bufio.NewReader(strings.NewReader(c.in)), &body)
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("err = %v, want one saying %q", err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if status != c.status || keep != c.keep || body.String() != c.body {
				t.Fatalf("got %d keep=%v %q, want %d keep=%v %q", status, keep, body.String(), c.status, c.keep, c.body)
			}
		})
	}
}

// Two answers on one connection are read one at a time, leaving the second
// in the reader.
func TestReadResponsePipelined(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("HTTP/1.1 202 Accepted\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 429 Too Many Requests\r\nContent-Length: 1\r\n\r\nB"))
	var body bytes.Buffer
	for _, want := range []struct {
		status int
		body   string
	}{{202, "A"}, {429, "B"}} {
		status, keep, err := readResponse(r, &body)
		if err != nil || status != want.status || !keep || body.String() != want.body {
			t.Fatalf("got %d %v %q %v, want %d %q", status, keep, body.String(), err, want.status, want.body)
		}
	}
}

// The raw sender against net/http's server: requests arrive whole with
// their headers, answers of either framing come back, and a closed
// connection is opened again.
func TestRawSenderAgainstNetHTTP(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Content-Type")+" "+string(b))
		switch string(b) {
		case "close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "chunked":
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		default:
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"status":"accepted"}`))
		}
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL + "/api/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	s := newSender(clientRaw, u, "Bearer k", nil)
	defer s.close()
	var buf bytes.Buffer
	for _, step := range []struct {
		body, answer string
		status       int
	}{
		{`{"a":1}`, `{"status":"accepted"}`, 202},
		{"chunked", "part one part two", 202},
		{"close", "", 503},
		{`{"a":2}`, `{"status":"accepted"}`, 202},
	} {
		status, err := s.post([]byte(step.body), &buf)
		if err != nil || status != step.status || buf.String() != step.answer {
			t.Fatalf("%s: got %d %q %v, want %d %q", step.body, status, buf.String(), err, step.status, step.answer)
		}
	}
	want := []string{
		`POST /api/v1/events Bearer k application/json {"a":1}`,
		"POST /api/v1/events Bearer k application/json chunked",
		"POST /api/v1/events Bearer k application/json close",
		`POST /api/v1/events Bearer k application/json {"a":2}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("server saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 202 Accepted\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 503 x\r\nConnection: close\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var body bytes.Buffer
		status, _, err := readResponse(bufio.NewReader(bytes.NewReader(in)), &body)
		if err == nil && (status < 100 || status > 999) {
			t.Fatalf("status %d accepted from %q", status, in)
		}
		if body.Len() > maxAnswer {
			t.Fatalf("body of %d bytes", body.Len())
		}
	})
}
