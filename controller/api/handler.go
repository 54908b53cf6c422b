package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
)

// TargetPrefix is the X-Amz-Target prefix of the ECS API; the operation's
// name follows it after a dot.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// ContentType is the content type of AWS JSON 1.1 requests and answers.
const ContentType = "application/x-amz-json-1.1"

// Mux is an http.Handler that serves the ECS API: it reads the operation
// from X-Amz-Target, decodes the body strictly into the operation's input
// (see Decode), calls the operation registered with Handle, and writes its
// output or error as ECS does. It is safe for concurrent use once every
// operation is registered.
type Mux struct {
	ops    map[string]operation
	logger *slog.Logger
}

type operation func(ctx context.Context, body []byte) (any, error)

// NewMux returns a Mux with no operations. A nil logger logs to
// slog.Default(); the Mux logs panics and errors that are not *Error.
func NewMux(logger *slog.Logger) *Mux {
	if logger == nil {
		logger = slog.Default()
	}
	return &Mux{ops: map[string]operation{}, logger: logger}
}

// Handle registers fn as the operation name (RunTask, ListClusters ...).
// fn gets the decoded input and returns the output, or an error: an *Error
// goes to the client as it is, any other error as a ServerException whose
// message gives only the request ID (the error itself is logged). A nil
// output answers {}. Registering a name twice panics, as http.ServeMux does.
func Handle[In, Out any](m *Mux, name string, fn func(ctx context.Context, in *In) (*Out, error)) {
	if _, dup := m.ops[name]; dup {
		panic("api: operation " + name + " registered twice")
	}
	m.ops[name] = func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := Decode(body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil || out == nil {
			return nil, err
		}
		return out, nil
	}
}

type contextKey int

const (
	requestIDKey contextKey = iota
	operationKey
)

// RequestID is the ID of the request being served, as sent in the
// x-amzn-RequestId header; empty outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// OperationName is the name of the operation being served.
func OperationName(ctx context.Context) string {
	op, _ := ctx.Value(operationKey).(string)
	return op
}

// ServeHTTP serves one ECS API request.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := NewRequestID()
	w.Header().Set("X-Amzn-Requestid", id)
	name, op, perr := m.route(w, r)
	if perr != nil {
		m.writeError(w, r, id, perr)
		return
	}
	m.serve(w, r, id, name, op)
}

// serve reads a routed request's body, runs its operation and answers.
func (m *Mux) serve(w http.ResponseWriter, r *http.Request, id, name string, op operation) {
	body, rerr := readBody(w, r)
	if rerr != nil {
		m.writeError(w, r, id, rerr)
		return
	}
	ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), operationKey, name)
	out, err := m.call(ctx, name, op, body)
	if err != nil {
		m.writeError(w, r, id, err)
		return
	}
	m.write(w, http.StatusOK, out)
}

// route checks the request's method, path, content type and target and
// finds its operation.
func (m *Mux) route(w http.ResponseWriter, r *http.Request) (string, operation, *Error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return "", nil, unknownOperation(http.StatusMethodNotAllowed, "the ECS API is served by POST /, not %s", r.Method)
	}
	if r.URL.Path != "/" {
		return "", nil, unknownOperation(http.StatusNotFound, "the ECS API is served by POST /, not POST %s", r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); !acceptedContentType(ct) {
		e := SerializationException("content type %q is not %s (or application/json)", ct, ContentType)
		e.status = http.StatusUnsupportedMediaType
		return "", nil, e
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// ECS takes no compressed requests; reading gzip as JSON would
		// only give a confusing syntax error.
		e := SerializationException("content encoding %q is not supported; send the body uncompressed", truncate(ce, 100))
		e.status = http.StatusUnsupportedMediaType
		return "", nil, e
	}
	target := r.Header.Get("X-Amz-Target")
	prefix, name, ok := strings.Cut(target, ".")
	if target == "" {
		return "", nil, unknownOperation(http.StatusBadRequest, "the X-Amz-Target header is missing; it names the operation as %s.OPERATION", TargetPrefix)
	}
	if !ok || prefix != TargetPrefix {
		return "", nil, unknownOperation(http.StatusBadRequest, "X-Amz-Target %q is not an ECS operation (%s.OPERATION)", truncate(target, 200), TargetPrefix)
	}
	op, found := m.ops[name]
	if !found {
		return "", nil, unknownOperation(http.StatusBadRequest, "operation %q is not served by berth", truncate(name, 200))
	}
	return name, op, nil
}

func acceptedContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == ContentType || mt == "application/json")
}

// call runs an operation, turning a panic into a ServerException so that
// one bad request never takes the server down.
func (m *Mux) call(ctx context.Context, name string, op operation, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			m.logger.Error("ECS API operation panicked", "operation", name, "requestId", RequestID(ctx), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, ServerException("internal error (request %s)", RequestID(ctx))
		}
	}()
	out, err = op(ctx, body)
	if err == nil && out == nil {
		out = struct{}{}
	}
	return out, err
}

// writeError answers err in the AWS JSON shape: the error's name in the
// `__type` member and the X-Amzn-ErrorType header, its words in `message`.
func (m *Mux) writeError(w http.ResponseWriter, r *http.Request, id string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		m.logger.Error("ECS API operation failed", "requestId", id, "target", r.Header.Get("X-Amz-Target"), "error", err)
		e = ServerException("internal error (request %s)", id)
	} else if e.Type == TypeServer {
		m.logger.Error("ECS API operation failed", "requestId", id, "target", r.Header.Get("X-Amz-Target"), "error", e)
	}
	w.Header().Set("X-Amzn-Errortype", e.Type)
	m.write(w, e.HTTPStatus(), errorBody{Type: e.Type, Message: e.Message})
}

type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (m *Mux) write(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// An output berth cannot encode is berth's fault, never the
		// client's: say so, and keep the details in the log.
		m.logger.Error("ECS API answer cannot be encoded", "requestId", w.Header().Get("X-Amzn-Requestid"), "error", err)
		status = http.StatusInternalServerError
		w.Header().Set("X-Amzn-Errortype", TypeServer)
		data, _ = json.Marshal(errorBody{Type: TypeServer, Message: "internal error: the answer cannot be encoded"})
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data) // the client has gone; nothing more to do
}

// NewRequestID makes a random ID shaped as a UUID (version 4), as ECS's
// request IDs are.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
