package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// The demo image has no shell and no curl, so fetch is how a container
// reads an HTTP endpoint, above all the task metadata endpoint:
//
//	"command": ["fetch", "--pretty", "${ECS_CONTAINER_METADATA_URI_V4}/task"]
//
// Neither Docker nor ECS expands variables in a command, and there is no
// shell in the image to do it, so fetch expands them in its URL itself.

// errUnsetVariable is returned by expandEnv for a reference to a variable
// the environment does not have.
var errUnsetVariable = errors.New("is not set")

// errBadReference is returned by expandEnv for a "${" without its "}" or
// with no name inside.
var errBadReference = errors.New("bad variable reference")

// expandEnv replaces $NAME and ${NAME} in s with the value of the variable
// NAME, as a shell would, and $$ with a single $. A $ followed by anything
// else stays as it is. Unlike a shell, it refuses an unset variable rather
// than making it empty: a URL missing its host would only fail later, and
// less clearly.
func expandEnv(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		var name string
		switch {
		case strings.HasPrefix(s, "$"):
			b.WriteByte('$')
			s = s[1:]
			continue
		case strings.HasPrefix(s, "{"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", fmt.Errorf("%w: ${ without }", errBadReference)
			}
			name, s = s[1:end], s[end+1:]
			if !isVariableName(name) {
				return "", fmt.Errorf("%w: ${%s}", errBadReference, name)
			}
		default:
			n := variableNameLength(s)
			if n == 0 {
				b.WriteByte('$')
				continue
			}
			name, s = s[:n], s[n:]
		}
		value, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("$%s %w", name, errUnsetVariable)
		}
		b.WriteString(value)
	}
}

// variableNameLength is the length of the variable name s begins with:
// a letter or underscore, then letters, digits and underscores.
func variableNameLength(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}

func isVariableName(s string) bool {
	return s != "" && variableNameLength(s) == len(s)
}

// fetchErrorBody is how much of an error response fetch shows: enough for
// the endpoint's own explanation, not a whole error page.
const fetchErrorBody = 512

func runFetch(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("fetch")
	pretty := fs.Bool("pretty", false, "indent a JSON body")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("fetch", "%v", err)
	}
	if len(pos) != 1 {
		return p.usageError("fetch", "want one URL, got %d arguments", len(pos))
	}
	url, err := expandEnv(pos[0], os.LookupEnv)
	if errors.Is(err, errUnsetVariable) {
		fmt.Fprintf(p.stderr, "demo fetch: URL %q: %v in the container's environment\n", pos[0], err)
		return ExitFailed
	}
	if err != nil {
		return p.usageError("fetch", "URL %q: %v", pos[0], err)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return p.usageError("fetch", "URL %q: %v", url, err)
	}
	body, err := getBody(req)
	if err != nil {
		fmt.Fprintf(p.stderr, "demo fetch: %v\n", err)
		return ExitFailed
	}
	if *pretty {
		var indented bytes.Buffer
		if json.Indent(&indented, body, "", "  ") == nil {
			body = indented.Bytes()
		} else {
			fmt.Fprintf(p.stderr, "demo fetch: GET %s: the body is not JSON; printing it as it is\n", url)
		}
	}
	p.stdout.Write(body)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		io.WriteString(p.stdout, "\n")
	}
	return ExitOK
}

// getBody sends req and returns the body of a 2xx response; any other status is
// an error that carries the start of the body, where servers explain.
func getBody(req *http.Request) ([]byte, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		start, _ := io.ReadAll(io.LimitReader(resp.Body, fetchErrorBody))
		msg := strings.TrimSpace(string(start))
		if msg == "" {
			return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
		}
		return nil, fmt.Errorf("GET %s: %s: %s", req.URL, resp.Status, msg)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: read the body: %w", req.URL, err)
	}
	return body, nil
}
