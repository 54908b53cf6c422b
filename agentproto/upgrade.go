package agentproto

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Path is where the server takes agents' connections.
const Path = "/berth/v1/agent"

// Protocol names this protocol and its version in the Upgrade header.
const Protocol = "berth-agent/1"

// Accept takes over an agent's request for the protocol: it answers 101 and
// returns the framed connection. A request that does not ask for the
// protocol gets 426 and an error.
func Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), Protocol) || !headerHas(r.Header, "Connection", "upgrade") {
		w.Header().Set("Upgrade", Protocol)
		http.Error(w, "this endpoint speaks "+Protocol+": ask for it with Connection: Upgrade, Upgrade: "+Protocol, http.StatusUpgradeRequired)
		return nil, fmt.Errorf("the request does not ask for %s", Protocol)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "the connection cannot be taken over", http.StatusInternalServerError)
		return nil, fmt.Errorf("the response writer cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("take over the connection: %w", err)
	}
	// The server's deadlines were for the request; the connection lives on.
	conn.SetDeadline(noDeadline)
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: "+Protocol+"\r\nConnection: Upgrade\r\n\r\n"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("answer the upgrade: %w", err)
	}
	return NewConn(conn, rw.Reader), nil
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Dial connects to the server at base (http:// or https://) and asks for
// the protocol, carrying token as a bearer token when it is set. ctx
// bounds the connection and the upgrade.
func Dial(ctx context.Context, base, token string) (*Conn, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://HOST:PORT or https://HOST:PORT", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", base, err)
	}
	if u.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect to %s: %w", base, err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(expired) })
	defer stop()
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(base, "/")+Path, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", Protocol)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ask %s for %s: %w", base, Protocol, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ask %s for %s: %w", base, Protocol, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		conn.Close()
		return nil, &RefusedError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	conn.SetDeadline(noDeadline)
	return NewConn(conn, br), nil
}

// RefusedError is a server that answered but would not take the agent:
// 403 for a missing or wrong token.
type RefusedError struct {
	Status int
	Body   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the server refused the agent's connection (HTTP %d): %s", e.Status, e.Body)
}

// Deadlines: none, and one long past, which ends a blocked call at once.
var (
	noDeadline time.Time
	expired    = time.Unix(1, 0)
)
