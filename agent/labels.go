package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Labels the ECS agent puts on every container; they win over the user's
// dockerLabels.
const (
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelContainerName = "com.amazonaws.ecs.container-name"
	LabelTaskFamily    = "com.amazonaws.ecs.task-definition-family"
	LabelTaskVersion   = "com.amazonaws.ecs.task-definition-version"
	LabelCluster       = "com.amazonaws.ecs.cluster"
)

// berth's own labels. LabelManaged marks everything berth creates (containers,
// networks, volumes) so recovery and cleanup find it; labelTaskRecord holds
// what a fresh agent needs to resume a task it did not start.
const (
	LabelManaged = "berth.managed"
	// LabelKeep marks the containers of a task kept on purpose after it
	// stops (berth run --keep): a Reap keeps it until its cleanup wait has
	// passed, and removes every other task of a dead agent at once.
	LabelKeep       = "berth.keep"
	labelTaskRecord = "berth.task"
	labelScope      = "berth.scope" // task | shared | efs | network
)

// pauseContainerName is the name the ECS agent gives the container that
// owns a task's namespaces.
const pauseContainerName = "~internal~ecs~pause"

// taskContainerName is the name of a container of a task (its pause
// container too), the way the ECS agent makes them: ecs-FAMILY-REV-NAME-HEX.
// Characters Docker does not accept in a name (the pause container's "~")
// are dropped. The last part comes of the task's ARN rather than chance, so
// that the engine refuses a second container of the same name, should an
// agent that died while creating one have had its create carried out after
// the next agent looked (see createContainer).
func taskContainerName(family string, revision int, container, taskARN string) string {
	sum := sha256.Sum256([]byte(taskARN + "\x00" + container))
	return dockerNameWith(family, revision, container, hex.EncodeToString(sum[:10]))
}

func dockerNameWith(family string, revision int, container, suffix string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			return r
		}
		return -1
	}, container)
	return fmt.Sprintf("ecs-%s-%d-%s-%s", family, revision, clean, suffix)
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// containerLabels are the labels of every container of a task.
func (t *task) containerLabels(name string, extra map[string]string) map[string]string {
	l := make(map[string]string, len(extra)+8)
	for k, v := range extra {
		l[k] = v
	}
	for k, v := range t.agentLabels {
		l[k] = v
	}
	t.addECSLabels(l, name)
	l[LabelManaged] = "true"
	l[labelTaskRecord] = t.record.encode()
	if name != pauseContainerName && t.pauseID != "" {
		l[labelPause] = t.pauseID
	}
	return l
}

// addECSLabels sets the labels the ECS agent gives container name of the
// task, over any of those names already in l (a definition's dockerLabels).
func (t *task) addECSLabels(l map[string]string, name string) {
	l[LabelTaskARN] = t.arn
	l[LabelContainerName] = name
	l[LabelTaskFamily] = t.def().Family
	l[LabelTaskVersion] = fmt.Sprint(t.record.Revision)
	l[LabelCluster] = t.record.Cluster
}

// resourceLabels are the labels of a network or volume berth makes.
func resourceLabels(agentLabels map[string]string, scope, taskARN string) map[string]string {
	l := make(map[string]string, len(agentLabels)+3)
	for k, v := range agentLabels {
		l[k] = v
	}
	l[LabelManaged] = "true"
	l[labelScope] = scope
	if taskARN != "" {
		l[LabelTaskARN] = taskARN
	}
	return l
}
