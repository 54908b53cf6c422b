package controller_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The ARNs the controller makes in these tests.
var namer = api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}

// startServer starts berth server's process on a free loopback port with
// the controller on the store of dir, and stops it when the test ends.
func startServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   "127.0.0.1:0",
		StateDir: dir,
		NewAPI: func(st *store.Store) http.Handler {
			mux := api.NewMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
			controller.New(st, controller.Options{}).Register(mux)
			return mux
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServer(t, srv) })
	return srv
}

func stopServer(t *testing.T, srv *server.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("stop the server: %v", err)
	}
}

// newClient is the AWS SDK's ECS client pointed at srv, with static
// credentials and no retries, so an error is seen as the server gave it.
func newClient(t *testing.T, srv *server.Server) *ecs.Client {
	t.Helper()
	return clientAt(t, "http://"+srv.Addr())
}

// clientAt is newClient for a server at url.
func clientAt(t *testing.T, url string) *ecs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDBERTH", "secret", "")),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles(nil),
		config.WithSharedCredentialsFiles(nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(url) })
}

// testClient starts a server on an empty state directory and returns a
// client of it.
func testClient(t *testing.T) *ecs.Client {
	t.Helper()
	return newClient(t, startServer(t, t.TempDir()))
}

// wantAPIError fails the test unless err is the ECS error code, and
// returns its message.
func wantAPIError(t *testing.T, err error, code string) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("got %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
	return ae.ErrorMessage()
}

func TestAnOperationNotServedYetAnswersUnknownOperationException(t *testing.T) {
	client := testClient(t)
	_, err := client.ListServices(context.Background(), &ecs.ListServicesInput{})
	wantAPIError(t, err, api.TypeUnknownOperation)
}
