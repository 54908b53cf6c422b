package controller

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// ECS's rules for tags (the model and the tagging guide): at most 50 a
// resource, keys of 1–128 characters, values of up to 256, both of
// letters, numbers, spaces and + - = . _ : / @, and no key beginning with
// aws:, which AWS keeps for itself.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

var tagText = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// checkTags applies ECS's rules to the tags of a request; member names
// them in the message.
func checkTags(member string, tags []api.Tag) error {
	if len(tags) > maxTags {
		return api.InvalidParameterException("%s: %d tags given; a resource has at most %d", member, len(tags), maxTags)
	}
	for i, t := range tags {
		if err := checkTagKey(member, i, t.Key); err != nil {
			return err
		}
		if utf8.RuneCountInString(t.Value) > maxTagValueLen || !tagText.MatchString(t.Value) {
			return api.InvalidParameterException("%s[%d].value: a tag value is up to %d letters, numbers, spaces and + - = . _ : / @", member, i, maxTagValueLen)
		}
	}
	return nil
}

func checkTagKey(member string, i int, key string) error {
	n := utf8.RuneCountInString(key)
	switch {
	case n == 0 || n > maxTagKeyLen || !tagText.MatchString(key):
		return api.InvalidParameterException("%s[%d].key: a tag key is 1 to %d letters, numbers, spaces and + - = . _ : / @", member, i, maxTagKeyLen)
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return api.InvalidParameterException("%s[%d].key: %q begins with aws:, which is reserved for AWS use", member, i, key)
	}
	return nil
}

// mergeTags sets each of add on tags, replacing the value of a key there
// already, as TagResource does.
func mergeTags(tags, add []api.Tag) ([]api.Tag, error) {
	out := slices.Clone(tags)
	for _, t := range add {
		if i := slices.IndexFunc(out, func(o api.Tag) bool { return o.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
			continue
		}
		out = append(out, t)
	}
	if len(out) > maxTags {
		return nil, api.InvalidParameterException("tags: the resource would have %d tags; a resource has at most %d", len(out), maxTags)
	}
	return out, nil
}

// taggable is a resource named by the resourceArn of a tagging call.
type taggable struct {
	cluster  string // the cluster's name, or
	family   string // the task definition's family and revision, or
	revision int
	instance string // with cluster, the container instance's ID, or
	task     string // with cluster, the task's ID
}

// readResourceARN reads the resourceArn of a tagging call: the ARN of a
// cluster, a task definition revision or a container instance. Other ECS
// resources are not kept by berth yet, so none of them exists.
func readResourceARN(ref string) (taggable, error) {
	a, err := api.ParseARN(ref)
	if err != nil || a.Service != "ecs" {
		return taggable{}, api.InvalidParameterException("resourceArn: %q is not the ARN of an ECS resource", ref)
	}
	kind, _, _ := strings.Cut(a.Resource, "/")
	switch kind {
	case "cluster":
		name, err := api.ClusterName(ref)
		return taggable{cluster: name}, err
	case "task-definition":
		family, rev, err := api.TaskDefinitionRef(ref)
		return taggable{family: family, revision: rev}, err
	case "container-instance":
		cluster, id, err := api.ContainerInstanceRef(ref)
		if err == nil && cluster == "" {
			err = api.InvalidParameterException("resourceArn: %q names no cluster; a container instance's ARN is arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID", ref)
		}
		return taggable{cluster: cluster, instance: id}, err
	case "task":
		cluster, id, err := api.TaskRef(ref)
		if err == nil && cluster == "" {
			err = api.InvalidParameterException("resourceArn: %q names no cluster; a task's ARN is arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID", ref)
		}
		return taggable{cluster: cluster, task: id}, err
	case "service", "capacity-provider", "task-set":
		return taggable{}, api.ResourceNotFoundException("The specified resource could not be found: berth keeps no %s of that ARN", strings.ReplaceAll(kind, "-", " "))
	default:
		return taggable{}, api.InvalidParameterException("resourceArn: %q is not the ARN of a taggable ECS resource", ref)
	}
}

// updateTags changes the tags of the resource ref names.
func (c *Controller) updateTags(ref string, update func([]api.Tag) ([]api.Tag, error)) ([]api.Tag, error) {
	r, err := readResourceARN(ref)
	if err != nil {
		return nil, err
	}
	if r.task != "" {
		var tags []api.Tag
		_, err := c.store.UpdateTask(r.cluster, r.task, func(rec *store.Task) error {
			var t api.Task
			if err := json.Unmarshal(rec.Body, &t); err != nil {
				return err
			}
			var err error
			if tags, err = update(t.Tags); err != nil {
				return err
			}
			t.Tags = tags
			rec.Body, err = json.Marshal(t)
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.ResourceNotFoundException("The specified resource could not be found: no task %s in cluster %s", r.task, r.cluster)
		}
		return tags, err
	}
	if r.instance != "" {
		rec, err := c.store.UpdateContainerInstance(r.cluster, r.instance, func(rec *store.ContainerInstance) (bool, error) {
			tags, err := update(rec.Tags)
			if err != nil || slices.Equal(tags, rec.Tags) {
				return false, err
			}
			rec.Tags = tags
			return true, nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, instanceResourceNotFound(r)
		case errors.Is(err, store.ErrInstanceInactive):
			return nil, api.InvalidParameterException("The specified container instance is inactive: it was deregistered.")
		}
		return rec.Tags, err
	}
	if r.cluster != "" {
		rec, err := c.store.UpdateClusterTags(r.cluster, update)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, api.ClusterNotFoundException("")
		case errors.Is(err, store.ErrClusterInactive):
			return nil, api.InvalidParameterException("The specified cluster is inactive. Specify an active cluster and try again.")
		}
		return rec.Tags, err
	}
	rec, err := c.store.UpdateTaskDefinitionTags(r.family, r.revision, update)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.ResourceNotFoundException("The specified resource could not be found: no task definition %s:%d", r.family, r.revision)
	}
	return rec.TagList(), err
}

func instanceResourceNotFound(r taggable) error {
	return api.ResourceNotFoundException("The specified resource could not be found: no container instance %s in cluster %s", r.instance, r.cluster)
}

// TagResource adds tags to a cluster, a task definition or a container
// instance, replacing the values of keys it has already.
func (c *Controller) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	_, err := c.updateTags(in.ResourceArn, func(tags []api.Tag) ([]api.Tag, error) { return mergeTags(tags, in.Tags) })
	if err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes tags by key; keys the resource lacks are ignored,
// as ECS ignores them.
func (c *Controller) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	for i, k := range in.TagKeys {
		if err := checkTagKey("tagKeys", i, k); err != nil {
			return nil, err
		}
	}
	_, err := c.updateTags(in.ResourceArn, func(tags []api.Tag) ([]api.Tag, error) {
		return slices.DeleteFunc(slices.Clone(tags), func(t api.Tag) bool { return slices.Contains(in.TagKeys, t.Key) }), nil
	})
	if err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTagsForResource lists the tags of a cluster, a task definition or a
// container instance.
func (c *Controller) ListTagsForResource(ctx context.Context, in *api.ListTagsForResourceInput) (*api.ListTagsForResourceOutput, error) {
	r, err := readResourceARN(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	var tags []api.Tag
	switch {
	case r.task != "":
		rec, err := c.store.Task(r.cluster, r.task)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.ResourceNotFoundException("The specified resource could not be found: no task %s in cluster %s", r.task, r.cluster)
		}
		if err != nil {
			return nil, err
		}
		t, err := taskOf(rec)
		if err != nil {
			return nil, err
		}
		tags = t.Tags
	case r.instance != "":
		rec, err := c.store.ContainerInstanceUnloaded(r.cluster, r.instance)
		if errors.Is(err, store.ErrNotFound) {
			return nil, instanceResourceNotFound(r)
		}
		if err != nil {
			return nil, err
		}
		tags = rec.Tags
	case r.cluster != "":
		rec, err := c.store.Cluster(r.cluster)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.ClusterNotFoundException("")
		}
		if err != nil {
			return nil, err
		}
		tags = rec.Tags
	default:
		rec, err := c.store.TaskDefinition(r.family, r.revision)
		if errors.Is(err, store.ErrNotFound) {
			return nil, api.ResourceNotFoundException("The specified resource could not be found: no task definition %s:%d", r.family, r.revision)
		}
		if err != nil {
			return nil, err
		}
		tags = rec.TagList()
	}
	if tags == nil {
		tags = []api.Tag{}
	}
	return &api.ListTagsForResourceOutput{Tags: tags}, nil
}
