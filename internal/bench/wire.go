package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// wireConn is one keep-alive HTTP/1.1 connection of the load generator. It
// writes each request as bytes and reads only what it must of the answer
// (status, Content-Length or chunked framing, Connection: close), so the
// generator, which shares the machine's cores with the server, spends a
// fraction of the CPU net/http's client would (both are measured: see the
// "tool CPU/req" column and --client). Anything it does not understand is an
// error, never a silent success.
type wireConn struct {
	addr    string // host:port
	host    string // the Host header
	auth    string // "Bearer …"
	timeout time.Duration
	c       net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
}

func newWireConn(base string, token string, timeout time.Duration) (*wireConn, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("wire client: need an http://host:port URL, got %q", base)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &wireConn{addr: addr, host: u.Host, auth: "Bearer " + token, timeout: timeout}, nil
}

// do sends one request and reads its whole answer; msg is the start of the
// body of an answer other than 200. On any error the connection is closed
// and the next call opens a new one.
func (wc *wireConn) do(method, path string, body []byte) (status int, msg string, err error) {
	if wc.c == nil {
		c, err := net.DialTimeout("tcp", wc.addr, wc.timeout)
		if err != nil {
			return 0, "", err
		}
		wc.c, wc.r, wc.w = c, bufio.NewReaderSize(c, 8192), bufio.NewWriterSize(c, 4096)
	}
	status, msg, keep, err := wc.roundTrip(method, path, body)
	if err != nil || !keep {
		wc.close()
	}
	return status, msg, err
}

func (wc *wireConn) close() {
	if wc.c != nil {
		wc.c.Close()
		wc.c = nil
	}
}

func (wc *wireConn) roundTrip(method, path string, body []byte) (status int, msg string, keep bool, err error) {
	if err := wc.c.SetDeadline(time.Now().Add(wc.timeout)); err != nil {
		return 0, "", false, err
	}
	w := wc.w
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(wc.host)
	w.WriteString("\r\nAuthorization: ")
	w.WriteString(wc.auth)
	if body != nil {
		w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
	}
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, "", false, err
	}

	line, err := wc.line()
	if err != nil {
		return 0, "", false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, "", false, fmt.Errorf("wire client: bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", false, fmt.Errorf("wire client: bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := wc.line()
		if err != nil {
			return 0, "", false, err
		}
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, "", false, fmt.Errorf("wire client: bad header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, "", false, fmt.Errorf("wire client: bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
			if !chunked {
				return 0, "", false, fmt.Errorf("wire client: unsupported Transfer-Encoding %q", value)
			}
		case asciiEqualFold(name, "Connection"):
			keep = !asciiEqualFold(value, "close")
		}
	}
	var b []byte
	switch {
	case method == "HEAD" || status == 204 || status == 304:
	case chunked:
		b, err = wc.chunks()
	case length >= 0:
		b, err = wc.body(length, status)
	default: // no framing: the body runs to the end of the connection
		b, err = io.ReadAll(io.LimitReader(wc.r, 1<<20))
		keep = false
	}
	if err != nil {
		return 0, "", false, err
	}
	if status != 200 {
		msg = string(b[:min(len(b), 512)])
	}
	return status, msg, keep, nil
}

// body reads a body of n bytes, keeping it only when it will be reported.
func (wc *wireConn) body(n, status int) ([]byte, error) {
	if status == 200 {
		_, err := wc.r.Discard(n)
		return nil, err
	}
	b := make([]byte, n)
	_, err := io.ReadFull(wc.r, b)
	return b, err
}

// chunks reads a chunked body (RFC 9112 §7.1), trailers included.
func (wc *wireConn) chunks() ([]byte, error) {
	var b []byte
	for {
		line, err := wc.line()
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("wire client: bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				t, err := wc.line()
				if err != nil {
					return nil, err
				}
				if len(t) == 0 {
					return b, nil
				}
			}
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(wc.r, chunk); err != nil {
			return nil, err
		}
		b = append(b, chunk...)
		if crlf, err := wc.line(); err != nil || len(crlf) != 0 {
			return nil, errors.Join(errors.New("wire client: chunk not followed by CRLF"), err)
		}
	}
}

// line reads one CRLF-terminated line, without the CRLF. The slice is valid
// until the next read.
func (wc *wireConn) line() ([]byte, error) {
	l, err := wc.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("wire client: line too long")
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(l, []byte("\n")), []byte("\r")), nil
}

// asciiEqualFold compares a header name or token case-insensitively.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
