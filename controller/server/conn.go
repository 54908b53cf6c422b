package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/berthdev/berth/controller/api"
)

// net/http answers a request it cannot read as HTTP (headers too large,
// malformed, cut off by the header timeout, an unsupported
// Transfer-Encoding) itself, before any handler runs, in plain text, and
// with 501 for the Transfer-Encoding. ECS clients expect every answer in
// the AWS JSON error shape, and a client's mistake is never a 5xx: the
// listener's connections turn that one canned answer into ECS's.

// ecsListener hands out connections that answer as ECS does.
type ecsListener struct{ net.Listener }

func (l ecsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return ecsConn{c}, nil
}

type ecsConn struct{ net.Conn }

// cannedAnswer is net/http's own answer to a request it cannot read: it is
// written in one piece, straight to the connection, and, unlike every
// answer of a handler, carries no Date header.
var cannedAnswer = regexp.MustCompile(`\AHTTP/1\.1 ([0-9]{3}) [^\r\n]*\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n`)

func (c ecsConn) Write(p []byte) (int, error) {
	m := cannedAnswer.FindSubmatchIndex(p)
	if m == nil {
		return c.Conn.Write(p)
	}
	status, _ := strconv.Atoi(string(p[m[2]:m[3]]))
	if status < 400 || status >= 500 {
		status = http.StatusBadRequest
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{api.TypeSerialization, "the request cannot be read as HTTP: " + string(p[m[1]:])})
	answer := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nX-Amzn-Errortype: %s\r\nX-Amzn-Requestid: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), api.ContentType, api.TypeSerialization, api.NewRequestID(), len(body), body)
	if _, err := c.Conn.Write([]byte(answer)); err != nil {
		return 0, err
	}
	return len(p), nil
}
