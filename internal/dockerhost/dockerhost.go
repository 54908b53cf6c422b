// Package dockerhost makes the client of the Docker engine the environment
// names, as the Docker CLI reads it: DOCKER_HOST (unix://PATH,
// tcp://HOST:PORT with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, or
// ssh://[USER@]HOST[:PORT][/SOCKET]) and DOCKER_API_VERSION, with the API
// version negotiated.
//
// An engine over ssh is reached as the Docker CLI reaches one, through the
// ssh client on PATH and the docker CLI on the host: each connection is an
// ssh process that runs `docker system dial-stdio` there, which joins its
// standard input and output to the engine's socket, and HTTP goes over
// the pair of pipes.
//
//	berth ── HTTP ──► pipes ── ssh [-l USER] [-p PORT] -- HOST docker system dial-stdio ──► engine
package dockerhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// New returns the client of the engine DOCKER_HOST names (the default
// socket when it names none), with the API version negotiated.
func New() (client.APIClient, error) {
	host := os.Getenv(client.EnvOverrideHost)
	if !strings.HasPrefix(host, "ssh://") {
		return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	}
	s, err := ParseSSH(host)
	if err != nil {
		return nil, fmt.Errorf("DOCKER_HOST %q: %w", Redacted(host), err)
	}
	return s.Client()
}

// Redacted is DOCKER_HOST host with the password it may carry, which is
// not to be printed, as xxxxx.
func Redacted(host string) string {
	u, err := url.Parse(host)
	if err != nil {
		return host
	}
	return u.Redacted()
}

// Check says what is wrong with DOCKER_HOST host, when it names an engine
// over ssh that berth cannot reach; any other is the Docker client's to
// judge.
func Check(host string) error {
	if !strings.HasPrefix(host, "ssh://") {
		return nil
	}
	_, err := ParseSSH(host)
	return err
}

// SSH is an engine reached over ssh: the host, the user and port ssh logs
// in with (its own defaults when empty), and the engine's socket there
// (the docker CLI's default when empty).
type SSH struct {
	User, Host, Port string
	Socket           string
}

// ParseSSH reads a DOCKER_HOST of the form ssh://[USER@]HOST[:PORT][/SOCKET],
// as the Docker CLI does: ssh asks for a password itself, if it needs one,
// so the URL carries none.
func ParseSSH(host string) (SSH, error) {
	u, err := url.Parse(host)
	if err != nil {
		return SSH{}, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "ssh" {
		return SSH{}, fmt.Errorf("not an ssh:// URL")
	}
	var s SSH
	if u.User != nil {
		s.User = u.User.Username()
		if _, ok := u.User.Password(); ok {
			return SSH{}, errors.New("a password in the URL is not taken: ssh asks for it, or logs in with a key (ssh-agent)")
		}
	}
	s.Host, s.Port = u.Hostname(), u.Port()
	switch {
	case s.Host == "":
		return SSH{}, errors.New("no host: want ssh://[USER@]HOST[:PORT]")
	case strings.HasPrefix(s.Host, "-") || strings.HasPrefix(s.User, "-"):
		return SSH{}, errors.New("a host or user may not begin with -")
	case u.RawQuery != "" || u.ForceQuery:
		return SSH{}, fmt.Errorf("a query after the host (%q) means nothing to ssh", u.RawQuery)
	case u.Fragment != "":
		return SSH{}, fmt.Errorf("a fragment after the host (%q) means nothing to ssh", u.Fragment)
	}
	if u.Path != "" && u.Path != "/" {
		s.Socket = u.Path
	}
	return s, nil
}

// String is the engine's DOCKER_HOST.
func (s SSH) String() string {
	u := url.URL{Scheme: "ssh", Host: s.Host, Path: s.Socket}
	if s.Port != "" {
		u.Host = s.Host + ":" + s.Port
		if strings.Contains(s.Host, ":") {
			u.Host = "[" + s.Host + "]:" + s.Port
		}
	}
	if s.User != "" {
		u.User = url.User(s.User)
	}
	return u.String()
}

// Command is the command line of one connection to the engine.
func (s SSH) Command() []string {
	args := []string{"ssh"}
	if s.User != "" {
		args = append(args, "-l", s.User)
	}
	if s.Port != "" {
		args = append(args, "-p", s.Port)
	}
	args = append(args, "--", s.Host, "docker")
	if s.Socket != "" {
		args = append(args, "--host", "unix://"+s.Socket)
	}
	return append(args, "system", "dial-stdio")
}

// Client is the Docker client of the engine, its every connection one
// over ssh. Its DaemonHost is the engine's ssh:// URL.
func (s SSH) Client(opts ...client.Opt) (client.APIClient, error) {
	transport := &http.Transport{
		// Each connection is an ssh process: the address is no one's.
		DialContext: s.DialContext,
		// An idle connection's process ends soon.
		MaxIdleConns:    6,
		IdleConnTimeout: 30 * time.Second,
	}
	api, err := client.NewClientWithOpts(append([]client.Opt{
		// The host only names the requests; before the HTTP client, so
		// that it configures the default one's transport, not this one
		// (which takes no proxy: a proxy would not be where ssh goes).
		client.WithHost("http://" + client.DummyHost),
		client.WithHTTPClient(&http.Client{Transport: transport, CheckRedirect: client.CheckRedirect}),
		client.WithVersionFromEnv(),
		client.WithAPIVersionNegotiation(),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	return sshClient{Client: api, host: s.String()}, nil
}

// sshClient is the Docker client of an engine over ssh, named by its URL.
type sshClient struct {
	*client.Client
	host string
}

func (c sshClient) DaemonHost() string { return c.host }

// DialContext starts a connection to the engine: an ssh process, whose
// standard input and output are the connection. The process ends with
// the connection.
func (s SSH) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return startCommand(s.String(), s.Command())
}
