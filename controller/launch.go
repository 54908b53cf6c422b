package controller

import (
	"regexp"
	"slices"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/taskdef"
)

// launch is what RunTask and StartTask take alike from a request and give
// every task they start: who started it, its group, its tags and its
// overrides, each checked by ECS's rules.
type launch struct {
	startedBy   string
	group       string
	referenceID string
	tags        []api.Tag
	overrides   *api.TaskOverride
	// agentOverrides are overrides as the agent applies them.
	agentOverrides []agent.ContainerOverride
	// subnets are an awsvpc task's, from its network configuration: an
	// EC2 task's network interface is made in the one of its instance's
	// zone.
	subnets []string
}

// launchRequest is the part of RunTask's and StartTask's inputs that
// launch is made from.
type launchRequest struct {
	StartedBy, Group, ReferenceID, PropagateTags string
	EnableECSManagedTags                         bool
	Tags                                         []api.Tag
	Overrides                                    *api.TaskOverride
	// EnableExecuteCommand and VolumeConfigurations ask for what berth
	// does not provide (ECS Exec's agent, EBS volumes): refused rather
	// than ignored.
	EnableExecuteCommand bool
	VolumeConfigurations int
}

// startedByText and referenceIDText are what ECS lets startedBy and
// referenceId hold.
var (
	startedByText   = regexp.MustCompile(`^[A-Za-z0-9_/-]{0,128}$`)
	referenceIDText = regexp.MustCompile(`^[A-Za-z0-9_-]{0,64}$`)
)

// maxGroupLen is the longest task group ECS takes.
const maxGroupLen = 255

// newLaunch checks in against the definition it launches and returns what
// its tasks get. The group is "family:FAMILY" unless given. Tags are the
// request's, then (propagateTags TASK_DEFINITION) the definition's, then
// (enableECSManagedTags) aws:ecs:clusterName, as ECS tags a task.
func newLaunch(cluster string, rec store.TaskDefinition, task *taskdef.Normalized, in launchRequest) (*launch, error) {
	if in.EnableExecuteCommand {
		return nil, api.InvalidParameterException("enableExecuteCommand: berth runs no ECS Exec agent; reach a running container with docker exec and its runtimeId (DescribeTasks)")
	}
	if in.VolumeConfigurations > 0 {
		return nil, api.InvalidParameterException("volumeConfigurations: berth provisions no Amazon EBS volumes; give the task a volume of its definition instead (a Docker volume, a bind mount or EFS)")
	}
	if !startedByText.MatchString(in.StartedBy) {
		return nil, api.InvalidParameterException("startedBy: up to 128 letters, numbers, hyphens, forward slashes and underscores")
	}
	if !referenceIDText.MatchString(in.ReferenceID) {
		return nil, api.InvalidParameterException("referenceId: up to 64 letters, numbers, hyphens and underscores")
	}
	if len(in.Group) > maxGroupLen {
		return nil, api.InvalidParameterException("group: at most %d characters; got %d", maxGroupLen, len(in.Group))
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	overrides, err := agentOverrides(in.Overrides, &task.Definition)
	if err != nil {
		return nil, err
	}
	l := &launch{startedBy: in.StartedBy, group: in.Group, referenceID: in.ReferenceID, overrides: in.Overrides,
		agentOverrides: overrides, tags: slices.Clone(in.Tags)}
	if l.group == "" {
		l.group = "family:" + rec.Family
	}
	switch in.PropagateTags {
	case "", "NONE":
	case "TASK_DEFINITION":
		l.tags = addTags(l.tags, rec.TagList())
	case "SERVICE":
		return nil, api.InvalidParameterException("propagateTags: SERVICE is for a service's tasks; a task started on its own takes TASK_DEFINITION or NONE")
	default:
		return nil, api.InvalidParameterException("propagateTags %q: want TASK_DEFINITION, SERVICE or NONE", in.PropagateTags)
	}
	if in.EnableECSManagedTags {
		l.tags = addTags(l.tags, []api.Tag{{Key: "aws:ecs:clusterName", Value: cluster}})
	}
	if len(l.tags) > maxTags {
		return nil, api.InvalidParameterException("tags: %d tags with those propagated and managed; a task has at most %d", len(l.tags), maxTags)
	}
	return l, nil
}

// addTags adds to tags those of more whose keys it lacks: a tag given in
// the request wins over one propagated.
func addTags(tags, more []api.Tag) []api.Tag {
	for _, t := range more {
		if !slices.ContainsFunc(tags, func(have api.Tag) bool { return have.Key == t.Key }) {
			tags = append(tags, t)
		}
	}
	return tags
}

func runLaunch(in *api.RunTaskInput) launchRequest {
	return launchRequest{StartedBy: in.StartedBy, Group: in.Group, ReferenceID: in.ReferenceID, PropagateTags: in.PropagateTags,
		EnableECSManagedTags: in.EnableECSManagedTags, Tags: in.Tags, Overrides: in.Overrides,
		EnableExecuteCommand: in.EnableExecuteCommand, VolumeConfigurations: len(in.VolumeConfigurations)}
}

func startLaunch(in *api.StartTaskInput) launchRequest {
	return launchRequest{StartedBy: in.StartedBy, Group: in.Group, ReferenceID: in.ReferenceID, PropagateTags: in.PropagateTags,
		EnableECSManagedTags: in.EnableECSManagedTags, Tags: in.Tags, Overrides: in.Overrides,
		EnableExecuteCommand: in.EnableExecuteCommand, VolumeConfigurations: len(in.VolumeConfigurations)}
}
