package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
)

// startStreamsServer starts a server whose controller keeps container
// output under dir, guarded by token when one is given.
func startStreamsServer(t *testing.T, dir, token string) (*server.Server, *controller.Controller) {
	t.Helper()
	var ctl *controller.Controller
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   "127.0.0.1:0",
		StateDir: dir,
		Token:    token,
		NewAPI: func(st *store.Store) http.Handler {
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			mux := api.NewMux(logger)
			ctl = controller.New(st, controller.Options{LogDir: filepath.Join(dir, "logs")})
			ctl.Register(mux)
			return ctl.Handler(mux, logger)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctl.Close()
		stopServer(t, srv)
	})
	return srv, ctl
}

// The endpoints refuse what they cannot answer in ECS's error shape, with
// the status the contract gives.
func TestLogAndEventEndpointsRefuseInECSErrorShape(t *testing.T) {
	t.Parallel()
	srv, _ := startStreamsServer(t, t.TempDir(), "")
	base := "http://" + srv.Addr()
	for _, tt := range []struct {
		name, path string
		status     int
		errType    string
	}{
		{"an unknown task", "/berth/v1/tasks/0123456789abcdef0123456789abcdef/logs", http.StatusNotFound, "ResourceNotFoundException"},
		{"an unknown task of a cluster", "/berth/v1/tasks/0123456789abcdef0123456789abcdef/logs?cluster=nope", http.StatusNotFound, "ResourceNotFoundException"},
		{"a since that is no time", "/berth/v1/tasks/0123456789abcdef0123456789abcdef/logs?since=10m", http.StatusBadRequest, "InvalidParameterException"},
		{"a follow that is no flag", "/berth/v1/events?follow=always", http.StatusBadRequest, "InvalidParameterException"},
		{"a path berth does not serve", "/berth/v1/nothing", http.StatusNotFound, "ResourceNotFoundException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || body.Type != tt.errType || body.Message == "" {
				t.Errorf("GET %s: %d %+v, want %d %s", tt.path, resp.StatusCode, body, tt.status, tt.errType)
			}
		})
	}
	// The client hands the 404 back as ECS's error.
	err := client.New(base, "").Logs(context.Background(), "0123456789abcdef0123456789abcdef", client.LogsOptions{}, func(client.LogLine) error { return nil })
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Type != "ResourceNotFoundException" {
		t.Errorf("client.Logs of an unknown task: %v", err)
	}
}

// Each change of a container instance is an EventBridge event, kept for
// those who ask later and sent at once to those who follow.
func TestEventsAreKeptAndFollowed(t *testing.T) {
	t.Parallel()
	srv, _ := startStreamsServer(t, t.TempDir(), "")
	c := client.New("http://"+srv.Addr(), "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	register := func() string {
		t.Helper()
		out, err := c.RegisterContainerInstance(ctx, &api.RegisterContainerInstanceInput{
			TotalResources: []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 512}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.ContainerInstance.ContainerInstanceArn
	}
	first := register()

	var kept []api.Event
	if err := c.Events(ctx, client.EventsOptions{}, func(e api.Event) error { kept = append(kept, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 {
		t.Fatalf("%d events kept, want 1: %+v", len(kept), kept)
	}
	e := kept[0]
	var detail api.ContainerInstanceStateChange
	if err := json.Unmarshal(e.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if e.Version != "0" || e.Source != "aws.ecs" || e.DetailType != api.DetailTypeInstance || e.Account != controller.DefaultAccountID ||
		e.Region != controller.DefaultRegion || len(e.Resources) != 1 || e.Resources[0] != first || e.ID == "" || e.Time.IsZero() ||
		detail.ContainerInstanceArn != first || detail.Status != "ACTIVE" {
		t.Errorf("event: %+v\ndetail: %+v", e, detail)
	}
	// Nothing before since.
	var none []api.Event
	c.Events(ctx, client.EventsOptions{Since: e.Time.Add(time.Second)}, func(e api.Event) error { none = append(none, e); return nil })
	if len(none) != 0 {
		t.Errorf("events since after the last: %+v", none)
	}

	// A follower sees the kept event, then the next one as it happens.
	seen := make(chan api.Event)
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	followed := make(chan error, 1)
	go func() {
		followed <- c.Events(followCtx, client.EventsOptions{Follow: true}, func(e api.Event) error { seen <- e; return nil })
	}()
	if got := <-seen; got.ID != e.ID {
		t.Errorf("the follower's first event is %s, want the kept %s", got.ID, e.ID)
	}
	second := register()
	if got := <-seen; len(got.Resources) != 1 || got.Resources[0] != second {
		t.Errorf("the follower's next event: %+v, want the registration of %s", got, second)
	}
	stopFollowing()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Errorf("a follower that stops: %v", err)
	}
}

// The endpoints take the server's token as the ECS API does.
func TestLogAndEventEndpointsWantTheToken(t *testing.T) {
	t.Parallel()
	srv, _ := startStreamsServer(t, t.TempDir(), "s3cret")
	base := "http://" + srv.Addr()
	err := client.New(base, "").Events(context.Background(), client.EventsOptions{}, func(api.Event) error { return nil })
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Type != "AccessDeniedException" {
		t.Errorf("events without the token: %v", err)
	}
	if err := client.New(base, "s3cret").Events(context.Background(), client.EventsOptions{}, func(api.Event) error { return nil }); err != nil {
		t.Errorf("events with the token: %v", err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("the server listens at %s", base)
	}
}

// GET /berth/v1/events?cluster=C has that cluster's events alone, each
// instance's in the shape ECS sends (its cluster's ARN, ISO-8601 times,
// nothing of berth's own); a cluster the server does not have is ECS's
// ClusterNotFoundException.
func TestEventsOfOneCluster(t *testing.T) {
	t.Parallel()
	srv, _ := startStreamsServer(t, t.TempDir(), "")
	c := client.New("http://"+srv.Addr(), "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: "class"}); err != nil {
		t.Fatal(err)
	}
	for _, cluster := range []string{"", "class"} {
		if _, err := c.RegisterContainerInstance(ctx, &api.RegisterContainerInstanceInput{Cluster: cluster,
			TotalResources: []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 512}}}); err != nil {
			t.Fatal(err)
		}
	}
	var kept []api.Event
	if err := c.Events(ctx, client.EventsOptions{Cluster: "arn:aws:ecs:us-east-1:000000000000:cluster/class"}, func(e api.Event) error { kept = append(kept, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || !strings.Contains(kept[0].Resources[0], ":container-instance/class/") {
		t.Fatalf("the events of cluster class: %+v", kept)
	}
	var detail map[string]any
	if err := json.Unmarshal(kept[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	_, berthAgent := detail["berthAgent"]
	registered, _ := detail["registeredAt"].(string)
	updated, _ := detail["updatedAt"].(string)
	if berthAgent || detail["clusterArn"] != "arn:aws:ecs:us-east-1:000000000000:cluster/class" ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(registered) || updated == "" ||
		!strings.HasPrefix(updated, kept[0].Time.UTC().Format("2006-01-02T15:04:05")) {
		t.Errorf("the instance's event detail: %s", kept[0].Detail)
	}
	err := c.Events(ctx, client.EventsOptions{Cluster: "nowhere"}, func(api.Event) error { return nil })
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Type != "ClusterNotFoundException" {
		t.Errorf("the events of a cluster the server does not have: %v", err)
	}
}
