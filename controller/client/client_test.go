package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

func TestEndpointComesFromTheFlagTheEnvironmentOrTheDefault(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	if got := Endpoint(""); got != "http://127.0.0.1:3185" {
		t.Errorf("default: %s", got)
	}
	t.Setenv(EnvEndpoint, "127.0.0.9:4000")
	if got := Endpoint(""); got != "http://127.0.0.9:4000" {
		t.Errorf("from the environment: %s", got)
	}
	if got := Endpoint("https://berth.example:443/"); got != "https://berth.example:443" {
		t.Errorf("from the flag: %s", got)
	}
}

func TestCallReadsECSErrorsInEveryShapeTheProtocolAllows(t *testing.T) {
	tests := []struct {
		name, body  string
		status      int
		wantType    string
		wantMessage string
	}{
		{"ECS's shape", `{"__type": "ClusterNotFoundException", "message": "Cluster not found."}`, 400, "ClusterNotFoundException", "Cluster not found."},
		{"a qualified type and Message", `{"__type": "com.amazonaws.ecs#ClientException", "Message": "bad"}`, 400, "ClientException", "bad"},
		{"a page that is no ECS error", `<html>bad gateway</html>`, 502, "HTTP 502", "<html>bad gateway</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			err := New(srv.URL, "").Call(context.Background(), "DescribeClusters", &api.DescribeClustersInput{}, nil)
			var ecs *api.Error
			if !errors.As(err, &ecs) || ecs.Type != tt.wantType || ecs.Message != tt.wantMessage {
				t.Errorf("got %#v, want %s: %s", err, tt.wantType, tt.wantMessage)
			}
		})
	}
}

func TestCallSendsTheOperationAndTheToken(t *testing.T) {
	var target, auth, ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, auth, ctype = r.Header.Get("X-Amz-Target"), r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		w.Write([]byte(`{"clusterArns": ["arn:aws:ecs:us-east-1:000000000000:cluster/default"]}`))
	}))
	defer srv.Close()
	out, err := New(srv.URL, "s3cret").ListClusters(context.Background(), &api.ListClustersInput{})
	if err != nil || len(out.ClusterArns) != 1 {
		t.Fatalf("%+v, %v", out, err)
	}
	if target != "AmazonEC2ContainerServiceV20141113.ListClusters" || auth != "Bearer s3cret" || ctype != "application/x-amz-json-1.1" {
		t.Errorf("sent target %q, authorization %q, content type %q", target, auth, ctype)
	}
}

func TestAServerThatDoesNotAnswerIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	_, err = New(url, "").ListClusters(context.Background(), &api.ListClustersInput{})
	var unreachable *UnreachableError
	if !errors.As(err, &unreachable) || unreachable.Endpoint != url {
		t.Errorf("got %v, want an UnreachableError for %s", err, url)
	}
}

func TestAllPagesFollowsNextTokens(t *testing.T) {
	pages := map[string][]int{"": {1, 2}, "b": {3}, "c": {4}}
	next := map[string]string{"": "b", "b": "c"}
	got, err := AllPages(func(token string) ([]int, string, error) { return pages[token], next[token], nil })
	if err != nil || len(got) != 4 || got[3] != 4 {
		t.Errorf("got %v, %v", got, err)
	}
}
