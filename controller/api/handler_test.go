package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
)

// post sends one ECS request to mux and returns the recorded answer.
func post(mux http.Handler, op, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestAPanickingOperationIsAServerExceptionAndTheServerLivesOn(t *testing.T) {
	var logs bytes.Buffer
	mux := api.NewMux(slog.New(slog.NewTextHandler(&logs, nil)))
	api.Handle(mux, "StopTask", func(ctx context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error) {
		if in.Task == "boom" {
			var tasks []api.Task
			_ = tasks[len(in.Task)] // an index out of range: a real bug, not a staged panic value
		}
		return &api.StopTaskOutput{Task: &api.Task{TaskArn: in.Task}}, nil
	})

	rec := post(mux, "StopTask", api.ContentType, `{"task":"boom"}`)
	if rec.Code != 500 || rec.Header().Get("X-Amzn-Errortype") != api.TypeServer {
		t.Fatalf("a panic answered %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), rec.Header().Get("X-Amzn-Requestid")) {
		t.Errorf("the ServerException %s does not give the request ID", rec.Body)
	}
	if !strings.Contains(logs.String(), "index out of range") || !strings.Contains(logs.String(), "StopTask") {
		t.Errorf("the panic was not logged with its operation: %s", logs.String())
	}
	rec = post(mux, "StopTask", api.ContentType, `{"task":"fine"}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"taskArn":"fine"`) {
		t.Errorf("after a panic, a good request answered %d %s", rec.Code, rec.Body)
	}
}

func TestAnErrorThatIsNotAnAPIErrorIsNotShownToTheClient(t *testing.T) {
	var logs bytes.Buffer
	mux := api.NewMux(slog.New(slog.NewTextHandler(&logs, nil)))
	api.Handle(mux, "ListClusters", func(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
		return nil, errors.New("open /var/lib/berth/state.db: permission denied")
	})
	rec := post(mux, "ListClusters", api.ContentType, `{}`)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "state.db") {
		t.Errorf("a plain error answered %d %s; want a 500 that keeps the details in the log", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "state.db") {
		t.Errorf("the error was not logged: %s", logs.String())
	}
}

func TestAWrappedAPIErrorOfAnOperationIsAnsweredAsItIs(t *testing.T) {
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "RunTask", func(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
		return nil, fmt.Errorf("running web: %w", api.UnsupportedFeatureException("capacity providers are not supported by berth"))
	})
	rec := post(mux, "RunTask", api.ContentType, `{"taskDefinition":"web","capacityProviderStrategy":[{"capacityProvider":"FARGATE"}]}`)
	var body map[string]string
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 400 || body["__type"] != api.TypeUnsupportedFeature || body["message"] != "capacity providers are not supported by berth" {
		t.Errorf("answered %d %s", rec.Code, rec.Body)
	}
}

func TestAnOutputThatCannotBeEncodedIsAServerException(t *testing.T) {
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "DescribeContainerInstances", func(ctx context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
		return &api.DescribeContainerInstancesOutput{ContainerInstances: []api.ContainerInstance{{
			RegisteredResources: []api.Resource{{Name: "GPU_SHARE", Type: "DOUBLE", DoubleValue: math.NaN()}},
		}}}, nil
	})
	rec := post(mux, "DescribeContainerInstances", api.ContentType, `{"containerInstances":["x"]}`)
	var body map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 || body["__type"] != api.TypeServer {
		t.Errorf("answered %d %s", rec.Code, rec.Body)
	}
}

func TestTheOperationGetsItsInputAndContext(t *testing.T) {
	mux := api.NewMux(discardLogger())
	var got *api.RunTaskInput
	var id, op string
	api.Handle(mux, "RunTask", func(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
		got, id, op = in, api.RequestID(ctx), api.OperationName(ctx)
		return nil, nil
	})
	for _, ct := range []string{api.ContentType, "application/json", "application/x-amz-json-1.1; charset=utf-8", "APPLICATION/X-AMZ-JSON-1.1"} {
		t.Run("with content type "+ct, func(t *testing.T) {
			rec := post(mux, "RunTask", ct, `{"taskDefinition":"web:3","count":2,"cluster":null,"overrides":{"containerOverrides":[{"name":"web","memory":256,"environment":[{"name":"A","value":"1"}]}]},"placementStrategy":[{"type":"binpack","field":"memory"}]}`)
			if rec.Code != 200 || rec.Body.String() != "{}" {
				t.Fatalf("answered %d %s; a nil output must answer {}", rec.Code, rec.Body)
			}
			if got.TaskDefinition != "web:3" || *got.Count != 2 || got.Cluster != "" ||
				*got.Overrides.ContainerOverrides[0].Memory != 256 || got.Overrides.ContainerOverrides[0].Environment[0].Value != "1" ||
				got.PlacementStrategy[0].Field != "memory" || got.Overrides.ContainerOverrides[0].CPU != nil {
				t.Errorf("the operation got %+v", got)
			}
			if id != rec.Header().Get("X-Amzn-Requestid") || op != "RunTask" {
				t.Errorf("the context held request %q and operation %q", id, op)
			}
		})
	}
}

func TestRegisteringAnOperationTwicePanics(t *testing.T) {
	mux := api.NewMux(nil)
	noop := func(ctx context.Context, in *api.ListTasksInput) (*api.ListTasksOutput, error) { return nil, nil }
	api.Handle(mux, "ListTasks", noop)
	defer func() {
		if recover() == nil {
			t.Error("a second ListTasks was registered")
		}
	}()
	api.Handle(mux, "ListTasks", noop)
}

func TestEveryOperationDecodesItsMinimalInput(t *testing.T) {
	mux, ran := newRecordingMux()
	for op, in := range operationInputs {
		t.Run(op, func(t *testing.T) {
			body := string(mustJSON(minimal(in)))
			rec := post(mux, op, api.ContentType, body)
			if rec.Code != 200 {
				t.Errorf("%s %s answered %d %s", op, body, rec.Code, rec.Body)
			}
		})
	}
	if len(ran.ops) != len(operationInputs) {
		t.Errorf("ran %d operations, want %d", len(ran.ops), len(operationInputs))
	}
}

// TestEveryMemberOfEveryInputDecodes fills each member of each input with a
// value of its type, so no shape holds a member the decoder cannot read.
func TestEveryMemberOfEveryInputDecodes(t *testing.T) {
	mux, _ := newRecordingMux()
	n := 0
	for op, in := range operationInputs {
		for _, m := range walkMembers(in) {
			n++
			body := string(mustJSON(withValue(in, m.steps, minimal(m.typ))))
			if rec := post(mux, op, api.ContentType, body); rec.Code != 200 {
				t.Errorf("%s with %s: answered %d %s", op, m.path, rec.Code, rec.Body)
			}
		}
	}
	if n < 300 {
		t.Errorf("only %d members were walked", n)
	}
}

func TestTimestampsAreEpochSeconds(t *testing.T) {
	cases := []struct {
		name string
		t    time.Time
		want string
	}{
		{"a whole second has no fraction", time.Unix(1764226800, 0), "1764226800"},
		{"milliseconds are kept", time.Unix(1764226800, 123e6), "1764226800.123"},
		{"finer than milliseconds is cut", time.Unix(1764226800, 123456789), "1764226800.123"},
		{"the epoch itself", time.Unix(0, 0), "0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := json.Marshal(api.Time(c.t))
			if err != nil || string(data) != c.want {
				t.Fatalf("got %s, %v; want %s", data, err, c.want)
			}
			var back api.Timestamp
			if err := json.Unmarshal(data, &back); err != nil || !back.Equal(c.t.Truncate(time.Millisecond)) {
				t.Errorf("read back %v, %v", back, err)
			}
		})
	}
	t.Run("a zero timestamp is left out", func(t *testing.T) {
		data, _ := json.Marshal(api.Task{TaskArn: "a"})
		if strings.Contains(string(data), "At") {
			t.Errorf("an empty task shows timestamps: %s", data)
		}
	})
	t.Run("a timestamp beyond year 9999 is refused", func(t *testing.T) {
		var in api.SubmitTaskStateChangeInput
		err := api.Decode([]byte(`{"pullStartedAt":1e12}`), &in)
		if !errors.Is(err, &api.Error{Type: api.TypeSerialization}) || !strings.Contains(err.Error(), "pullStartedAt") {
			t.Errorf("got %v", err)
		}
	})
}

func TestDecodeAcceptsOnlyAPointerToAStruct(t *testing.T) {
	var s string
	for _, v := range []any{nil, s, &s, api.ListClustersInput{}} {
		if err := api.Decode([]byte(`{}`), v); err == nil {
			t.Errorf("Decode into %T succeeded", v)
		}
	}
}

func TestRequestIDsAreUUIDShapedAndDiffer(t *testing.T) {
	mux := api.NewMux(nil)
	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Amzn-Requestid")
		if !requestIDShape.MatchString(id) || seen[id] {
			t.Fatalf("request ID %q is not UUID-shaped or was seen before", id)
		}
		seen[id] = true
	}
}
