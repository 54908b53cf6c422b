package controller

import (
	"strings"
	"testing"

	"github.com/berthdev/berth/taskdef"
)

// Where a container's output is kept: an awslogs container's under ECS's
// stream name in its group, the others' under their task; every name one
// path element of the state directory, whatever it holds.
func TestLogSourceNamesAwslogsStreamsAsECSDoes(t *testing.T) {
	const task = "4f92f45fe1634d13c1cae895fc0d8d08"
	awslogs := func(opts map[string]string) *taskdef.LogConfiguration {
		return &taskdef.LogConfiguration{LogDriver: "awslogs", Options: opts}
	}
	for _, tt := range []struct {
		name string
		def  taskdef.ContainerDefinition
		path string
	}{
		{"a container of no log driver", taskdef.ContainerDefinition{Name: "web"},
			"tasks/class/" + task + "/web"},
		{"json-file", taskdef.ContainerDefinition{Name: "web", LogConfiguration: &taskdef.LogConfiguration{LogDriver: "json-file"}},
			"tasks/class/" + task + "/web"},
		{"awslogs with a prefix: PREFIX/CONTAINER/TASK_ID", taskdef.ContainerDefinition{Name: "web", LogConfiguration: awslogs(map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"})},
			"awslogs/%2Fecs%2Fweb/ecs%2Fweb%2F" + task},
		{"awslogs without a prefix: CONTAINER/TASK_ID", taskdef.ContainerDefinition{Name: "web", LogConfiguration: awslogs(map[string]string{"awslogs-group": "app"})},
			"awslogs/app/web%2F" + task},
		{"a group of dots is no parent directory", taskdef.ContainerDefinition{Name: "web", LogConfiguration: awslogs(map[string]string{"awslogs-group": "..", "awslogs-stream-prefix": "."})},
			"awslogs/%2E%2E/%2E%2Fweb%2F" + task},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := logSource("class", task, &tt.def)
			if src.Path != tt.path || src.Task != task || src.Container != "web" {
				t.Errorf("source %+v, want path %s", src, tt.path)
			}
		})
	}
	long := strings.Repeat("g", 400)
	if name := fileName(long); len(name) != 64 || name == fileName(long+"h") {
		t.Errorf("a name too long for a file is %q", name)
	}
}
