package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Environment variables the demo server reads.
const (
	// EnvMetadataURI is set by the agent (ECS's, and berth's) in every
	// container of a task that has a network.
	EnvMetadataURI = "ECS_CONTAINER_METADATA_URI_V4"
	// EnvHealthFailAfter makes /health fail once the server has run this
	// long (a Go duration or seconds), to show a task being replaced.
	EnvHealthFailAfter = "DEMO_HEALTH_FAIL_AFTER"
)

// ServerConfig says what the demo server shows and where it finds it.
type ServerConfig struct {
	// EnvPrefix limits the environment shown to names with this prefix;
	// empty shows all of it. Values whose names look secret are hidden.
	EnvPrefix string
	// MetadataURI is the task metadata endpoint (v4) of this container; empty
	// when not running under berth or ECS.
	MetadataURI string
	// Cgroup is the container's /sys/fs/cgroup.
	Cgroup fs.FS
	// FailAfter, when positive, turns /health to failing after this long.
	FailAfter time.Duration
	// Log receives one line per request.
	Log io.Writer
}

// Server is the demo HTTP server.
//
//	GET  /             HTML page describing the task and the container
//	GET  /json         the same description as JSON
//	GET  /health       200 "ok" while healthy, 503 "failing" after
//	POST /health/fail  make /health fail
//	POST /health/ok    make /health pass again (and forget FailAfter)
type Server struct {
	cfg     ServerConfig
	started time.Time
	client  *http.Client

	mu     sync.Mutex
	health healthOverride
}

type healthOverride int

const (
	healthAuto healthOverride = iota // healthy until FailAfter, if set
	healthOK
	healthFail
)

// NewServer returns a server for cfg, started now.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	return &Server{cfg: cfg, started: time.Now(), client: &http.Client{Timeout: 2 * time.Second}}
}

// Healthy reports what /health answers now.
func (s *Server) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.health {
	case healthOK:
		return true
	case healthFail:
		return false
	}
	return s.cfg.FailAfter <= 0 || time.Since(s.started) < s.cfg.FailAfter
}

func (s *Server) setHealth(h healthOverride) {
	s.mu.Lock()
	s.health = h
	s.mu.Unlock()
}

// Handler returns the server's routes, each request logged.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handlePage)
	mux.HandleFunc("GET /json", s.handleJSON)
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("POST /health/fail", func(w http.ResponseWriter, r *http.Request) {
		s.setHealth(healthFail)
		io.WriteString(w, "health: failing\n")
	})
	mux.HandleFunc("POST /health/ok", func(w http.ResponseWriter, r *http.Request) {
		s.setHealth(healthOK)
		io.WriteString(w, "health: ok\n")
	})
	return s.logRequests(mux)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		fmt.Fprintf(s.cfg.Log, "demo: %s %s %d %s from %s\n", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond), r.RemoteAddr)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if !s.Healthy() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "failing\n")
		return
	}
	io.WriteString(w, "ok\n")
}

func (s *Server) handleJSON(w http.ResponseWriter, r *http.Request) {
	d := s.Describe(r.Context())
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(d)
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	d := s.Describe(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, d); err != nil {
		fmt.Fprintf(s.cfg.Log, "demo: render page: %v\n", err)
	}
}

// Description is what the demo server says about the task it runs in.
type Description struct {
	Hostname    string            `json:"hostname"`
	Addresses   []string          `json:"addresses"`
	PID         int               `json:"pid"`
	UID         int               `json:"uid"`
	GID         int               `json:"gid"`
	Started     time.Time         `json:"started"`
	Uptime      string            `json:"uptime"`
	Healthy     bool              `json:"healthy"`
	EnvPrefix   string            `json:"envPrefix,omitempty"`
	Environment map[string]string `json:"environment"`
	Cgroup      CgroupLimits      `json:"cgroup"`
	CgroupError string            `json:"cgroupError,omitempty"`
	Metadata    *Metadata         `json:"metadata,omitempty"`
}

// Metadata is what the task metadata endpoint said.
type Metadata struct {
	URI       string         `json:"uri"`
	Task      map[string]any `json:"task,omitempty"`
	Container map[string]any `json:"container,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// Describe gathers the description now.
func (s *Server) Describe(ctx context.Context) Description {
	d := Description{
		PID:         os.Getpid(),
		UID:         os.Getuid(),
		GID:         os.Getgid(),
		Started:     s.started.UTC(),
		Uptime:      time.Since(s.started).Round(time.Second).String(),
		Healthy:     s.Healthy(),
		EnvPrefix:   s.cfg.EnvPrefix,
		Environment: visibleEnv(os.Environ(), s.cfg.EnvPrefix),
	}
	d.Hostname, _ = os.Hostname()
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() {
				d.Addresses = append(d.Addresses, ipn.IP.String())
			}
		}
	}
	if s.cfg.Cgroup != nil {
		var err error
		if d.Cgroup, err = ReadCgroup(s.cfg.Cgroup); err != nil {
			d.CgroupError = err.Error()
		}
	}
	if s.cfg.MetadataURI != "" {
		d.Metadata = s.fetchMetadata(ctx)
	}
	return d
}

func (s *Server) fetchMetadata(ctx context.Context) *Metadata {
	m := &Metadata{URI: s.cfg.MetadataURI}
	var errs []error
	if err := s.getJSON(ctx, s.cfg.MetadataURI+"/task", &m.Task); err != nil {
		errs = append(errs, err)
	}
	if err := s.getJSON(ctx, s.cfg.MetadataURI, &m.Container); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		m.Error = err.Error()
	}
	return m
}

func (s *Server) getJSON(ctx context.Context, url string, into *map[string]any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("metadata %s: %w", url, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("metadata %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("metadata %s: %w", url, err)
	}
	return nil
}

// secretWords mark environment variables whose values the page hides: a
// demo page is shown on screens, and ECS secrets arrive as plain variables.
var secretWords = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "PRIVATE", "API_KEY", "ACCESS_KEY", "_KEY"}

// HiddenValue replaces the value of a variable that looks secret.
const HiddenValue = "(hidden)"

func looksSecret(name string) bool {
	upper := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(upper, w) {
			return true
		}
	}
	return false
}

// visibleEnv returns the variables of environ whose names start with
// prefix, values of secret-looking names hidden.
func visibleEnv(environ []string, prefix string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if looksSecret(name) {
			value = HiddenValue
		}
		env[name] = value
	}
	return env
}

// field returns m[key] as text, "" when absent.
func field(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func prettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"field":      field,
	"json":       prettyJSON,
	"sortedKeys": sortedKeys,
	"size":       FormatSize,
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>berth demo on {{.Hostname}}</title>
<style>body{font-family:sans-serif;margin:2em}td,th{text-align:left;padding:2px 12px 2px 0;vertical-align:top}pre{background:#f4f4f4;padding:1em}</style>
</head><body>
{{with .Metadata}}{{with .Task}}<h1>{{field . "Family"}}:{{field . "Revision"}}</h1>{{end}}{{end}}
<h2>Container</h2>
<table>
<tr><th>Hostname</th><td>{{.Hostname}}</td></tr>
<tr><th>Addresses</th><td>{{range .Addresses}}{{.}} {{end}}</td></tr>
<tr><th>Process</th><td>pid {{.PID}}, uid {{.UID}}, gid {{.GID}}, up {{.Uptime}}</td></tr>
<tr><th>Health</th><td>{{if .Healthy}}ok{{else}}failing{{end}}</td></tr>
</table>
<h2>Limits (cgroup v{{.Cgroup.Version}})</h2>
<table>
<tr><th>Memory limit</th><td>{{if .Cgroup.MemoryLimitBytes}}{{size .Cgroup.MemoryLimitBytes}}{{else}}none{{end}}{{with .Cgroup.InheritedMemoryLimitBytes}}; {{size .}} with the limit above the container (the task's){{end}}</td></tr>
<tr><th>Memory reservation</th><td>{{if .Cgroup.MemoryReservationBytes}}{{size .Cgroup.MemoryReservationBytes}}{{else}}none{{end}}</td></tr>
<tr><th>Memory used</th><td>{{size .Cgroup.MemoryUsageBytes}}</td></tr>
<tr><th>CPUs</th><td>{{if .Cgroup.CPUs}}{{.Cgroup.CPUs}}{{else}}no quota of its own{{end}}</td></tr>
{{if .Cgroup.CPUShares}}<tr><th>CPU shares</th><td>{{.Cgroup.CPUShares}}</td></tr>{{end}}
{{if .Cgroup.CPUWeight}}<tr><th>CPU weight</th><td>{{.Cgroup.CPUWeight}}</td></tr>{{end}}
</table>
{{with .CgroupError}}<p>{{.}}</p>{{end}}
{{with .Metadata}}<h2>Task metadata</h2>
{{with .Error}}<p>{{.}}</p>{{end}}
{{with .Task}}<table>
<tr><th>Task</th><td>{{field . "TaskARN"}}</td></tr>
<tr><th>Cluster</th><td>{{field . "Cluster"}}</td></tr>
<tr><th>Launch type</th><td>{{field . "LaunchType"}}</td></tr>
<tr><th>Availability zone</th><td>{{field . "AvailabilityZone"}}</td></tr>
<tr><th>Status</th><td>{{field . "KnownStatus"}} (desired {{field . "DesiredStatus"}})</td></tr>
<tr><th>Limits</th><td>{{field . "Limits"}}</td></tr>
</table>{{end}}
{{with .Container}}<table>
<tr><th>Container</th><td>{{field . "Name"}}</td></tr>
<tr><th>Image</th><td>{{field . "Image"}}</td></tr>
<tr><th>Docker ID</th><td>{{field . "DockerId"}}</td></tr>
<tr><th>Networks</th><td>{{field . "Networks"}}</td></tr>
</table>{{end}}
<details><summary>Raw task metadata</summary><pre>{{json .Task}}</pre></details>
<details><summary>Raw container metadata</summary><pre>{{json .Container}}</pre></details>
{{end}}
<h2>Environment{{with .EnvPrefix}} ({{.}}*){{end}}</h2>
<table>{{$env := .Environment}}{{range sortedKeys $env}}<tr><th>{{.}}</th><td>{{index $env .}}</td></tr>{{end}}</table>
</body></html>
`))

func runServe(ctx context.Context, p *proc, args []string) int {
	fs := newFlags("serve")
	port := fs.Int("port", 8080, "TCP port to listen on")
	prefix := fs.String("env-prefix", "", "show only environment variables with this prefix")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return p.usageError("serve", "%v", err)
	}
	if len(pos) != 0 {
		return p.usageError("serve", "takes no arguments, got %q", pos)
	}
	if *port < 0 || *port > 65535 {
		return p.usageError("serve", "--port: must be from 0 to 65535, got %d", *port)
	}
	var failAfter time.Duration
	if v := os.Getenv(EnvHealthFailAfter); v != "" {
		if failAfter, err = parseDuration(v); err != nil {
			return p.usageError("serve", "%s: %v", EnvHealthFailAfter, err)
		}
	}

	srv := NewServer(ServerConfig{
		EnvPrefix:   *prefix,
		MetadataURI: os.Getenv(EnvMetadataURI),
		Cgroup:      os.DirFS("/sys/fs/cgroup"),
		FailAfter:   failAfter,
		Log:         p.stdout,
	})
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintf(p.stderr, "demo serve: %v\n", err)
		return ExitFailed
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	p.printf("serving on %s", ln.Addr())
	if failAfter > 0 {
		p.printf("/health will fail after %s", failAfter)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(p.stderr, "demo serve: %v\n", err)
		return ExitFailed
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Shutdown(shutdown)
	p.printf("stopped serving")
	return ExitOK
}
