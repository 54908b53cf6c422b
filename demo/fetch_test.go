package demo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"URI": "http://169.254.170.2/v4/abc", "EMPTY": "", "A_1": "one"}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	tests := []struct {
		name, in, want string
		wantErr        error
	}{
		{"braces name a variable", "${URI}/task", "http://169.254.170.2/v4/abc/task", nil},
		{"a bare name runs to the first character no name has", "$URI/task", "http://169.254.170.2/v4/abc/task", nil},
		{"names take digits and underscores", "x$A_1.y", "xone.y", nil},
		{"a variable set empty expands to nothing", "a${EMPTY}b", "ab", nil},
		{"$$ is a dollar", "cost$$5", "cost$5", nil},
		{"a dollar before no name stays", "a$-b$", "a$-b$", nil},
		{"text without dollars is unchanged", "http://localhost:8080/", "http://localhost:8080/", nil},
		{"an unset variable is an error", "${ECS_CONTAINER_METADATA_URI_V4}/task", "", errUnsetVariable},
		{"an unset bare variable is an error", "$NOPE", "", errUnsetVariable},
		{"braces without an end are an error", "${URI/task", "", errBadReference},
		{"empty braces are an error", "${}/task", "", errBadReference},
		{"braces around no name are an error", "${1X}", "", errBadReference},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandEnv(tt.in, lookup)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("expandEnv(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/task":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"Cluster":"default","Containers":[{"Name":"app"}]}`))
		case "/text":
			w.Write([]byte("plain text"))
		case "/empty-error":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.Error(w, "no such endpoint", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("DEMO_TEST_METADATA_URI", srv.URL)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"prints the body and ends it with a newline", []string{"fetch", srv.URL + "/text"}, ExitOK, "plain text\n", ""},
		{"expands a variable in the URL", []string{"fetch", "${DEMO_TEST_METADATA_URI}/task"}, ExitOK, `{"Cluster":"default","Containers":[{"Name":"app"}]}` + "\n", ""},
		{"pretty-prints JSON", []string{"fetch", "--pretty", "$DEMO_TEST_METADATA_URI/task"}, ExitOK, "{\n  \"Cluster\": \"default\",\n  \"Containers\": [\n    {\n      \"Name\": \"app\"\n    }\n  ]\n}\n", ""},
		{"prints a body that is not JSON as it is, even when asked to pretty-print", []string{"fetch", srv.URL + "/text", "--pretty"}, ExitOK, "plain text\n", "not JSON"},
		{"fails on a 404 with the status and the server's words", []string{"fetch", srv.URL + "/missing"}, ExitFailed, "", "404 Not Found: no such endpoint"},
		{"fails on a 503 with no body with the status", []string{"fetch", srv.URL + "/empty-error"}, ExitFailed, "", "503 Service Unavailable\n"},
		{"fails on an unset variable and names it", []string{"fetch", "${DEMO_TEST_UNSET_VARIABLE}/task"}, ExitFailed, "", "$DEMO_TEST_UNSET_VARIABLE is not set in the container's environment"},
		{"fails when nothing listens", []string{"fetch", "http://127.0.0.1:1/task"}, ExitFailed, "", "connection refused"},
		{"needs a URL", []string{"fetch"}, ExitUsage, "", "usage: berth demo fetch URL"},
		{"takes one URL", []string{"fetch", srv.URL, srv.URL}, ExitUsage, "", "want one URL, got 2"},
		{"rejects a reference without its brace", []string{"fetch", "${DEMO_TEST_METADATA_URI/task"}, ExitUsage, "", "${ without }"},
		{"rejects a URL it cannot parse", []string{"fetch", "http://[::1"}, ExitUsage, "", "missing ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(context.Background(), tt.args...)
			if code != tt.wantCode || out != tt.wantOut || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("demo %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr containing %q",
					tt.args, code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}
