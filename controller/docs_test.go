package controller_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
)

// TestEveryOperationServedIsDocumented keeps docs/api.md and the README
// true: each operation the server answers is listed in both.
func TestEveryOperationServedIsDocumented(t *testing.T) {
	srv := startServer(t, t.TempDir())
	docs := map[string]string{}
	for _, file := range []string{"../docs/api.md", "../README.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs[file] = string(b)
	}
	for _, op := range controller.Operations {
		t.Run(op, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://"+srv.Addr()+"/", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", api.ContentType)
			req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Amzn-Errortype") == api.TypeUnknownOperation {
				t.Errorf("%s is listed but not served: %s", op, body)
			}
			for file, text := range docs {
				if !strings.Contains(text, op) {
					t.Errorf("%s is served but not in %s", op, file)
				}
			}
		})
	}
}
