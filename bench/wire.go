package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// A sender posts one pre-encoded body and reads the answer into buf.
// Each worker has its own, on its own keep-alive connection.
type sender interface {
	post(body []byte, buf *bytes.Buffer) (status int, err error)
	close()
}

// Two clients send the load. The default, "raw", writes HTTP/1.1 requests
// itself and reads the answers with the small reader below: net/http's
// client hands every request between three goroutines (caller, writer,
// reader) and took 25 µs of CPU per request, a quarter of the two CPUs the
// server shares with it at 20,000 requests/s. A real sender runs on
// another machine; the lighter client leaves the server the CPU it would
// have there. "std" (net/http) is kept to check that both see the same
// server.
const (
	clientRaw = "raw"
	clientStd = "std"
)

func newSender(kind string, u *url.URL, auth string, std *http.Client) sender {
	if kind == clientStd {
		return &stdSender{client: std, url: u, hdr: http.Header{
			"Authorization": {auth},
			"Content-Type":  {"application/json"},
		}}
	}
	return &rawSender{addr: u.Host, head: "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nAuthorization: " + auth + "\r\nContent-Type: application/json\r\nContent-Length: "}
}

type stdSender struct {
	client *http.Client
	url    *url.URL
	hdr    http.Header
}

func (s *stdSender) post(body []byte, buf *bytes.Buffer) (int, error) {
	req := &http.Request{
		Method:        http.MethodPost,
		URL:           s.url,
		Host:          s.url.Host,
		Header:        s.hdr,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

func (s *stdSender) close() {}

// rawSender keeps one connection, opened on first use and again after any
// error or a "Connection: close" answer.
type rawSender struct {
	addr string
	head string // request line and headers up to "Content-Length: "
	conn net.Conn
	r    *bufio.Reader
	out  []byte
}

// requestTimeout bounds one request and its answer, as the std client's
// Timeout does.
const requestTimeout = 60 * time.Second

func (s *rawSender) post(body []byte, buf *bytes.Buffer) (int, error) {
	if s.conn == nil {
		c, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
		if err != nil {
			return 0, err
		}
		s.conn, s.r = c, bufio.NewReaderSize(c, 16<<10)
	}
	s.out = append(s.out[:0], s.head...)
	s.out = strconv.AppendInt(s.out, int64(len(body)), 10)
	s.out = append(s.out, "\r\n\r\n"...)
	s.out = append(s.out, body...)
	s.conn.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := s.conn.Write(s.out); err != nil {
		s.close()
		return 0, err
	}
	status, keep, err := readResponse(s.r, buf)
	if err != nil || !keep {
		s.close()
	}
	return status, err
}

func (s *rawSender) close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn, s.r = nil, nil
	}
}

// maxAnswer bounds an answer's body: the largest the server sends the
// benchmark is a batch answer of a few hundred bytes per event.
const maxAnswer = 8 << 20

// readResponse reads the answer to one request, past any informational
// (1xx) answers before it: the status line, the headers, and
// a body framed by Content-Length or chunked encoding (an answer with
// neither ends the connection, and is read to its end). keep says whether
// the connection can carry the next request.
func readResponse(r *bufio.Reader, body *bytes.Buffer) (status int, keep bool, err error) {
	for {
		status, keep, err = readOneResponse(r, body)
		// An informational answer (100 Continue, 103 Early Hints) comes
		// before the real one, on the same request.
		if err != nil || status >= 200 {
			return status, keep, err
		}
	}
}

func readOneResponse(r *bufio.Reader, body *bytes.Buffer) (status int, keep bool, err error) {
	body.Reset()
	line, err := readLine(r)
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil || status < 100 {
		return 0, false, fmt.Errorf("malformed status code in %q", line)
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		h, err := readLine(r)
		if err != nil {
			return 0, false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || n > maxAnswer {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		case asciiEqualFold(name, "transfer-encoding"):
			if !asciiEqualFold(value, "chunked") {
				return 0, false, fmt.Errorf("unsupported Transfer-Encoding %q", value)
			}
			chunked = true
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				keep = false
			}
		}
	}
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified || status < 200:
		return status, keep, nil
	case chunked:
		return status, keep, readChunked(r, body)
	case length >= 0:
		_, err = io.CopyN(body, r, length)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return status, keep, err
	default:
		_, err = body.ReadFrom(io.LimitReader(r, maxAnswer))
		return status, false, err
	}
}

func readChunked(r *bufio.Reader, body *bytes.Buffer) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 || n > maxAnswer-int64(body.Len()) {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				t, err := readLine(r)
				if err != nil {
					return err
				}
				if len(t) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(body, r, n); err != nil {
			return io.ErrUnexpectedEOF
		}
		if end, err := readLine(r); err != nil || len(end) != 0 {
			return fmt.Errorf("chunk not followed by CRLF")
		}
	}
}

// readLine reads a line ending in CRLF (or LF), without the ending. Lines
// longer than the reader's buffer are an error: no header the server sends
// comes near 16 KiB.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
