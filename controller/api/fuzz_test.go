package api_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

// fuzzOps are the inputs the decoder fuzz targets read, in a fixed order so
// that a corpus entry's operation byte keeps its meaning.
var fuzzOps = func() []string {
	ops := make([]string, 0, len(operationInputs))
	for op := range operationInputs {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}()

func addDecodeSeeds(f *testing.F) {
	for _, c := range decodeMessages {
		f.Add(uint8(slices.Index(fuzzOps, c.op)), []byte(c.body))
	}
	for i, op := range fuzzOps {
		f.Add(uint8(i), mustJSON(minimal(operationInputs[op])))
	}
	f.Add(uint8(slices.Index(fuzzOps, "RunTask")), []byte(`{"taskDefinition":"web:3","count":2,"overrides":{"containerOverrides":[{"name":"web","memory":256,"environment":[{"name":"A","value":"1"}]}]},"networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"]}}}`))
	f.Add(uint8(slices.Index(fuzzOps, "RegisterTaskDefinition")), []byte(`{"family":"web","containerDefinitions":[{"name":"web","image":"berth/demo","memory":128,"portMappings":[{"containerPort":80}],"dockerLabels":{"a":"b"},"healthCheck":{"command":["CMD","true"]}}],"volumes":[{"name":"v","host":{}}]}`))
	f.Add(uint8(slices.Index(fuzzOps, "SubmitTaskStateChange")), []byte(`{"task":"t","status":"STOPPED","pullStartedAt":1764226800.123,"containers":[{"containerName":"web","exitCode":137,"networkBindings":[{"hostPort":49153}]}]}`))
	f.Add(uint8(0), []byte(`{"a":"\u0000\ud800","b":[1e999]}`))
}

// FuzzDecode: the decoder never panics, answers only *api.Error, and what
// it accepts it accepts again once encoded (no value is read that the
// shapes cannot hold).
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		in := operationInputs[fuzzOps[int(op)%len(fuzzOps)]]
		v := reflect.New(in).Interface()
		err := api.Decode(body, v)
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || (e.Type != api.TypeSerialization && e.Type != api.TypeInvalidParameter) {
				t.Fatalf("Decode(%q) = %v, want a SerializationException or InvalidParameterException", body, err)
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("an accepted input does not encode: %v", err)
		}
		w := reflect.New(in).Interface()
		if err := api.Decode(again, w); err != nil {
			t.Fatalf("Decode(%q) accepted, but its encoding %s is refused: %v", body, again, err)
		}
	})
}

// FuzzServeHTTP: whatever the target, content type and body, the mux
// answers in ECS's shape and never with a 5xx (every operation here
// succeeds once it runs).
func FuzzServeHTTP(f *testing.F) {
	for _, c := range protocolCases() {
		f.Add(c.target, c.contentType, c.body)
	}
	for _, c := range bodyCases() {
		if len(c.body) < 4096 {
			f.Add(c.target, api.ContentType, c.body)
		}
	}
	f.Add(api.TargetPrefix+".RunTask", "application/json", []byte(`{"taskDefinition":"web"}`))
	mux, _ := newRecordingMux()
	f.Fuzz(func(t *testing.T, target, contentType string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("answered %d %s", rec.Code, rec.Body)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("the answer %q is not JSON", rec.Body)
		}
		if rec.Code != 200 && (answer["__type"] == nil || answer["__type"] != rec.Header().Get("X-Amzn-Errortype")) {
			t.Fatalf("error answer %s without a matching __type", rec.Body)
		}
	})
}
