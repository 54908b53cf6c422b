// Package server is berth server's process: it holds the state store for as
// long as it runs, listens for the ECS API and berth's own endpoints, and
// tells other berth processes where it is.
//
//	Start ─ check the listen address (beyond loopback only with a token)
//	      ─ refuse when a live server already holds the state directory
//	      ─ open the state store and keep it
//	      ─ listen, then write server.json (address, pid) into the state dir
//	      ─ serve: POST / the ECS API, GET /healthz, GET /metrics
//	Shutdown ─ stop serving, remove server.json, close the store
//
// berth run and the CLI find a running server through Discover.
package server

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthdev/berth/controller/store"
)

// DefaultListen is the address berth server listens on unless told
// otherwise: loopback only, on a port of berth's own.
const DefaultListen = "127.0.0.1:3185"

// infoFile, in the state directory, says where the server that holds the
// state listens.
const infoFile = "server.json"

// Errors callers decide on.
var (
	// ErrTokenRequired: the listen address reaches beyond this machine and
	// no token was given.
	ErrTokenRequired = errors.New("a token is required to listen beyond loopback")
	// ErrAlreadyRunning: a live server holds the state directory.
	ErrAlreadyRunning = errors.New("a berth server already runs on this state directory")
)

// Config says where a server listens and what it keeps.
type Config struct {
	// Listen is the TCP address to listen on; "" means DefaultListen.
	Listen string
	// StateDir holds the state store (state.db) and server.json.
	StateDir string
	// Token, when set, must come with every request: as a bearer token
	// (Authorization: Bearer TOKEN), or, for the AWS CLI and SDKs, which
	// sign their requests, as the access key ID of their credentials.
	Token string
	// API serves the ECS API at POST /; nil answers every call with
	// ECS's error for an unknown operation.
	API http.Handler
	// NewAPI, when set, makes the API on the store the server has just
	// opened (the controller keeps its state there); it takes the place
	// of API.
	NewAPI func(st *store.Store) http.Handler
	// Registry holds the metrics /metrics exposes; nil makes an empty one.
	Registry *prometheus.Registry
	// Logf receives what the server cannot return as an error; nil
	// discards it.
	Logf func(format string, args ...any)
	// ReadHeaderTimeout and ReadTimeout bound how long a client may take
	// to send a request's headers, and the whole request: one that sends
	// slowly (slowloris) is cut off. 0 means DefaultReadHeaderTimeout and
	// DefaultReadTimeout.
	ReadHeaderTimeout, ReadTimeout time.Duration
}

// How long a client may take to send a request, unless told otherwise.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
)

// Info is what server.json says of a running server.
type Info struct {
	PID       int       `json:"pid"`
	Address   string    `json:"address"`
	StartedAt time.Time `json:"startedAt"`
}

// URL is the server's base URL.
func (i Info) URL() string { return "http://" + i.Address }

// Server is a running berth server.
type Server struct {
	cfg      Config
	store    *store.Store
	listener net.Listener
	http     *http.Server
	served   chan error

	shutdown    sync.Once
	shutdownErr error
}

// CheckListen refuses an address that reaches beyond loopback unless a
// token guards it: whoever reaches the port can run containers on the
// engine. An address that is not host:port is refused too.
func CheckListen(addr, token string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: want HOST:PORT, such as %s: %w", addr, DefaultListen, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("listen address %q: port %q: %w", addr, port, err)
	}
	if token != "" || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("listen address %s reaches beyond this machine, where anyone who can connect could run containers on the engine: give a --token, which every request must then carry (%w)", addr, ErrTokenRequired)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Start checks cfg, takes the state store and starts serving.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if err := CheckListen(cfg.Listen, cfg.Token); err != nil {
		return nil, err
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if info, ok := Discover(ctx, cfg.StateDir); ok {
		return nil, fmt.Errorf("%w: pid %d at %s", ErrAlreadyRunning, info.PID, info.URL())
	}
	st, err := store.OpenContext(ctx, filepath.Join(cfg.StateDir, "state.db"))
	if err != nil {
		return nil, err
	}
	if cfg.NewAPI != nil {
		cfg.API = cfg.NewAPI(st)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s := &Server{cfg: cfg, store: st, listener: l, served: make(chan error, 1)}
	s.http = &http.Server{
		Handler: s.routes(),
		// A client that sends its request slowly (slowloris) is cut off.
		ReadHeaderTimeout: cmp.Or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       cmp.Or(cfg.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if err := s.writeInfo(); err != nil {
		l.Close()
		st.Close()
		return nil, err
	}
	go func() { s.served <- s.http.Serve(ecsListener{l}) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Store is the state store the server holds.
func (s *Server) Store() *store.Store { return s.store }

// Shutdown stops serving (requests under way get until ctx ends), removes
// server.json and closes the store. Calls after the first return its
// result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Do(func() { s.shutdownErr = s.stop(ctx) })
	return s.shutdownErr
}

func (s *Server) stop(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if rmErr := os.Remove(filepath.Join(s.cfg.StateDir, infoFile)); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	if serveErr := <-s.served; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return errors.Join(err, s.store.Close())
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status": "ok"}`)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	api := s.cfg.API
	if api == nil {
		api = http.HandlerFunc(unknownOperation)
	}
	mux.Handle("/", api)
	if s.cfg.Token == "" {
		return mux
	}
	return requireToken(s.cfg.Token, mux)
}

// unknownOperation answers as ECS does an operation it does not have.
func unknownOperation(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintln(w, `{"__type": "UnknownOperationException", "message": "berth server does not serve this operation yet"}`)
}

// requireToken refuses every request that does not carry the token.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !carriesToken(r.Header.Get("Authorization"), token) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"__type": "AccessDeniedException", "message": "this berth server requires its token: send it as a bearer token, or as the access key ID of your AWS credentials"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// carriesToken reports whether an Authorization header carries token: as
// "Bearer TOKEN", or as the access key ID of a SigV4 signature
// ("AWS4-HMAC-SHA256 Credential=TOKEN/DATE/REGION/ecs/aws4_request, …").
func carriesToken(header, token string) bool {
	var got string
	switch {
	case strings.HasPrefix(header, "Bearer "):
		got = strings.TrimPrefix(header, "Bearer ")
	case strings.HasPrefix(header, "AWS4-HMAC-SHA256 "):
		for _, part := range strings.Split(strings.TrimPrefix(header, "AWS4-HMAC-SHA256 "), ",") {
			if cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				got, _, _ = strings.Cut(cred, "/")
			}
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// writeInfo tells other berth processes where this server listens. It is
// written whole or not at all (a rename), so a reader never sees half.
func (s *Server) writeInfo() error {
	b, err := json.Marshal(Info{PID: os.Getpid(), Address: s.Addr(), StartedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	path := filepath.Join(s.cfg.StateDir, infoFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Discover finds the server that holds stateDir: it is there when
// server.json names it and it answers at that address. A server.json left
// by a server that died is not a server.
func Discover(ctx context.Context, stateDir string) (Info, bool) {
	b, err := os.ReadFile(filepath.Join(stateDir, infoFile))
	if err != nil {
		return Info{}, false
	}
	var info Info
	if json.Unmarshal(b, &info) != nil || info.Address == "" {
		return Info{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, info.URL()+"/healthz", nil)
	if err != nil {
		return Info{}, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Info{}, false
	}
	resp.Body.Close()
	// A server guarded by a token answers 403 without it: still a server.
	return info, resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusForbidden
}
