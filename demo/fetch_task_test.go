package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fetchMetadataDef is a task whose one container prints its own task
// metadata, as a class would: the URL comes from the variable the agent
// sets, expanded by fetch since the image has no shell.
const fetchMetadataDef = `{
  "family": "demo-fetch-metadata",
  "requiresCompatibilities": ["EC2", "FARGATE"],
  "networkMode": "awsvpc",
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {
      "name": "reader",
      "image": "berth/demo:latest",
      "command": ["fetch", "--pretty", "${ECS_CONTAINER_METADATA_URI_V4}/task"]
    }
  ]
}`

func TestFetchReadsTheTaskMetadataEndpointFromInsideATask(t *testing.T) {
	bin := testenv.EnsureImages(t)
	api := testenv.Docker(t)
	def := filepath.Join(t.TempDir(), "task.json")
	if err := os.WriteFile(def, []byte(fetchMetadataDef), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, launchType := range []string{"EC2", "FARGATE"} {
		t.Run(launchType, func(t *testing.T) {
			var b [4]byte
			rand.Read(b[:])
			cluster := "demo-fetch-" + hex.EncodeToString(b[:])
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := testenv.RemoveLabelled(ctx, api, "com.amazonaws.ecs.cluster="+cluster); err != nil {
					t.Errorf("clean up: %v", err)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", "--quiet", "--cluster", cluster, "--launch-type", launchType, def)
			cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+t.TempDir())
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("berth run: %v\n%s", err, out.String())
			}

			var task struct {
				Cluster, TaskARN, Family, LaunchType string
				Containers                           []struct{ Name string }
			}
			body := containerOutput(out.String(), "reader")
			if err := json.Unmarshal([]byte(body), &task); err != nil {
				t.Fatalf("the container's output is not the task's metadata (%v):\n%s", err, out.String())
			}
			if task.LaunchType != launchType || task.Family != "demo-fetch-metadata" ||
				!strings.Contains(task.TaskARN, ":task/"+cluster+"/") || len(task.Containers) != 1 || task.Containers[0].Name != "reader" {
				t.Errorf("fetched metadata %+v; want the %s task of family demo-fetch-metadata in cluster %s with its container reader", task, launchType, cluster)
			}
		})
	}
}

// containerOutput collects what berth run printed under the container's
// name ("reader | ...").
func containerOutput(out, name string) string {
	var b strings.Builder
	for line := range strings.Lines(out) {
		prefix, rest, ok := strings.Cut(line, "| ")
		if ok && strings.TrimSpace(prefix) == name {
			b.WriteString(rest)
		}
	}
	return b.String()
}
