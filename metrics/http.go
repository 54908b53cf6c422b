package metrics

import (
	"net/http"
	"strings"
	"time"
)

// InstrumentAPI counts each ECS API request next serves, with its
// operation (from X-Amz-Target) and its error type (from the
// X-Amzn-ErrorType header of an error answer), and times it.
func (m *Metrics) InstrumentAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &errorTypeRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		target := r.Header.Get("X-Amz-Target")
		op := target[strings.LastIndexByte(target, '.')+1:]
		m.APIRequest(op, rec.errorType, time.Since(start))
	})
}

// errorTypeRecorder notes the error type an answer carries.
type errorTypeRecorder struct {
	http.ResponseWriter
	errorType string
}

func (e *errorTypeRecorder) WriteHeader(status int) {
	if status >= 300 {
		e.errorType = e.Header().Get("X-Amzn-ErrorType")
		if i := strings.IndexByte(e.errorType, ':'); i >= 0 {
			e.errorType = e.errorType[:i] // "Type:http://…" in the AWS JSON protocol
		}
		if e.errorType == "" {
			e.errorType = http.StatusText(status)
		}
	}
	e.ResponseWriter.WriteHeader(status)
}
