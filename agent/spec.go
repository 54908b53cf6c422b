package agent

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/berthdev/berth/taskdef"
)

// TaskSpec is one task to run: a normalised definition and where and how it
// runs. Only Task is required.
type TaskSpec struct {
	// ARN of the task; empty makes one in the agent's cluster.
	ARN string
	// Task is the validated, normalised definition.
	Task *taskdef.Normalized
	// Revision of the definition; 0 means 1.
	Revision int
	// LaunchType overrides Task.LaunchType when set.
	LaunchType string
	// Group defaults to "family:FAMILY"; StartedBy is free text.
	Group, StartedBy string
	// Environment is added to every container before its own environment
	// and overrides (the controller passes the metadata endpoint here).
	Environment []taskdef.KeyValuePair
	// Overrides change single containers, as RunTask's overrides do.
	Overrides []ContainerOverride
	// Address is the task's IPv4 address under awsvpc; empty lets the
	// agent pick one on its task network.
	Address string
	// HostIP overrides the agent's host address for this task.
	HostIP string
	// PullBehavior overrides the agent's pull behaviour for this task.
	PullBehavior PullBehavior
	// Output, when set, receives each container's output, whole and in
	// order whatever the log driver keeps: the agent calls it once per
	// container, after creating the container and before starting it,
	// attaches to the container and copies its stream into the writer
	// until the container exits (see OutputWriter; a nil writer leaves
	// that container unattached). Agent.Logs still reads the engine's
	// stored logs. A task the agent resumes (New) has no Output: its past
	// output cannot be attached to.
	Output func(container string) OutputWriter
}

// ContainerOverride replaces parts of one container definition.
type ContainerOverride struct {
	Name        string
	Command     []string
	Environment []taskdef.KeyValuePair
}

// taskRecord is what a task's containers carry in a label so that an agent
// that did not start the task can resume it.
type taskRecord struct {
	ARN         string                 `json:"arn"`
	Cluster     string                 `json:"cluster"`
	Revision    int                    `json:"revision"`
	LaunchType  string                 `json:"launchType"`
	Group       string                 `json:"group"`
	StartedBy   string                 `json:"startedBy,omitempty"`
	CPU         int                    `json:"cpu,omitempty"`
	Memory      int                    `json:"memory,omitempty"`
	HostIP      string                 `json:"hostIP"`
	Address     string                 `json:"address,omitempty"`
	CreatedAt   time.Time              `json:"createdAt"`
	PullStarted time.Time              `json:"pullStartedAt"`
	PullStopped time.Time              `json:"pullStoppedAt"`
	Definition  taskdef.TaskDefinition `json:"definition"`
	// Alone: the task has no pause container; its one container holds
	// its network namespace (see goesAlone).
	Alone bool `json:"alone,omitempty"`
}

func (r *taskRecord) encode() string {
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("encode task record: %v", err))
	}
	return string(b)
}

func decodeRecord(s string) (*taskRecord, error) {
	var r taskRecord
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("decode label %s: %w", labelTaskRecord, err)
	}
	return &r, nil
}

// taskID returns the ID part of a task ARN (or the ARN itself if it has none).
func taskID(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// newTaskARN makes an ARN of the form ECS uses, with a 32-hex-digit ID.
func newTaskARN(region, account, cluster string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", region, account, cluster, randHex(16))
}

// checkSpec rejects a spec the agent cannot run, naming the field.
func checkSpec(spec *TaskSpec) error {
	if spec.Task == nil {
		return fmt.Errorf("%w: Task is required", ErrInvalidSpec)
	}
	def := &spec.Task.Definition
	if def.Family == "" || len(def.ContainerDefinitions) == 0 {
		return fmt.Errorf("%w: Task has no family or no containers (was it loaded with taskdef.Load?)", ErrInvalidSpec)
	}
	if spec.ARN != "" && !strings.HasPrefix(spec.ARN, "arn:") {
		return fmt.Errorf("%w: ARN %q is not an ARN", ErrInvalidSpec, spec.ARN)
	}
	for _, o := range spec.Overrides {
		if def.Container(o.Name) == nil {
			return fmt.Errorf("%w: Overrides: no container named %q in the task definition", ErrInvalidSpec, o.Name)
		}
	}
	if spec.Address != "" {
		if def.NetworkMode != taskdef.NetworkAWSVPC {
			return fmt.Errorf("%w: Address is only used with networkMode awsvpc, not %s", ErrInvalidSpec, def.NetworkMode)
		}
		if ip := net.ParseIP(spec.Address); ip == nil || ip.To4() == nil {
			return fmt.Errorf("%w: Address %q is not an IPv4 address", ErrInvalidSpec, spec.Address)
		}
	}
	if spec.HostIP != "" && net.ParseIP(spec.HostIP) == nil {
		return fmt.Errorf("%w: HostIP %q is not an IP address", ErrInvalidSpec, spec.HostIP)
	}
	if spec.PullBehavior != "" {
		if _, err := ParsePullBehavior(string(spec.PullBehavior)); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidSpec, err)
		}
	}
	return nil
}
