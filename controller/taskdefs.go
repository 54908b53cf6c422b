package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/taskdef"
)

// RegisterTaskDefinition validates a definition with taskdef's rules and
// stores it, as registered, as the next revision of its family. A
// definition ECS would refuse is a ClientException naming each problem's
// field (a JSON pointer), message and rule, as berth validate prints them.
func (c *Controller) RegisterTaskDefinition(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
	if err := validate(in); err != nil {
		return nil, err
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	rec, err := c.store.RegisterTaskDefinition(*in, c.now())
	if err != nil {
		return nil, err
	}
	return &api.RegisterTaskDefinitionOutput{TaskDefinition: c.taskDefinition(rec), Tags: rec.TagList()}, nil
}

// RegisterTaskDefinitionIfChanged (berth's own operation) is
// RegisterTaskDefinition, except that when the family's latest ACTIVE
// revision is the definition given it answers that revision and registers
// none: the comparison and the registration are one store transaction, so
// that berth runs of one file started at once make one revision between
// them.
func (c *Controller) RegisterTaskDefinitionIfChanged(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionIfChangedOutput, error) {
	if err := validate(in); err != nil {
		return nil, err
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	rec, registered, err := c.store.RegisterIfChanged(*in, c.now())
	if err != nil {
		return nil, err
	}
	return &api.RegisterTaskDefinitionIfChangedOutput{Registered: registered,
		RegisterTaskDefinitionOutput: api.RegisterTaskDefinitionOutput{TaskDefinition: c.taskDefinition(rec), Tags: rec.TagList()}}, nil
}

// validate checks def as berth validate checks a file: taskdef reads JSON,
// so the decoded input goes back to JSON, member for member.
func validate(def *taskdef.TaskDefinition) error {
	data, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("encode task definition: %w", err)
	}
	_, report, err := taskdef.Load(data, taskdef.Options{})
	if err != nil {
		return api.ClientException("%v", err)
	}
	if report.Valid() {
		return nil
	}
	msgs := make([]string, 0, len(report.Errors))
	for _, p := range report.Errors {
		msgs = append(msgs, p.String())
	}
	return api.ClientException("%s", strings.Join(msgs, "; "))
}

// DeregisterTaskDefinition makes a revision INACTIVE; it keeps its
// revision number, which is never given again.
func (c *Controller) DeregisterTaskDefinition(ctx context.Context, in *api.DeregisterTaskDefinitionInput) (*api.DeregisterTaskDefinitionOutput, error) {
	family, rev, err := api.TaskDefinitionRef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		// ECS never picks the revision to deregister: the caller names it.
		return nil, api.ClientException("taskDefinition: %q names no revision; deregister FAMILY:REVISION or the ARN of a revision", in.TaskDefinition)
	}
	rec, err := c.store.DeregisterTaskDefinition(family, rev, c.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.ClientException("The specified task definition does not exist.")
	}
	if err != nil {
		return nil, err
	}
	return &api.DeregisterTaskDefinitionOutput{TaskDefinition: c.taskDefinition(rec)}, nil
}

// DescribeTaskDefinition describes FAMILY (its latest ACTIVE revision),
// FAMILY:REVISION or the ARN of a revision, ACTIVE or INACTIVE. Include
// TAGS adds its tags.
func (c *Controller) DescribeTaskDefinition(ctx context.Context, in *api.DescribeTaskDefinitionInput) (*api.DescribeTaskDefinitionOutput, error) {
	withTags := false
	for i, v := range in.Include {
		if v != "TAGS" {
			return nil, api.InvalidParameterException("include[%d]: %q is not TAGS", i, v)
		}
		withTags = true
	}
	family, rev, err := api.TaskDefinitionRef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	rec, err := c.store.TaskDefinition(family, rev)
	if errors.Is(err, store.ErrNotFound) {
		return nil, api.ClientException("Unable to describe task definition.")
	}
	if err != nil {
		return nil, err
	}
	out := &api.DescribeTaskDefinitionOutput{TaskDefinition: c.taskDefinition(rec)}
	if withTags {
		out.Tags = rec.TagList()
		if out.Tags == nil {
			out.Tags = []api.Tag{}
		}
	}
	return out, nil
}

// Statuses the List operations filter task definitions by.
const (
	statusAll              = "ALL"
	statusDeleteInProgress = "DELETE_IN_PROGRESS"
)

// ListTaskDefinitions lists revision ARNs of one status (ACTIVE unless
// told), of one family when familyPrefix names it (it is the full family
// name, as ECS takes it), by family then revision, ASC or DESC.
func (c *Controller) ListTaskDefinitions(ctx context.Context, in *api.ListTaskDefinitionsInput) (*api.ListTaskDefinitionsOutput, error) {
	status := in.Status
	switch status {
	case "":
		status = store.StatusActive
	case store.StatusActive, store.StatusInactive, statusDeleteInProgress:
	default:
		return nil, api.InvalidParameterException("status: %q is not ACTIVE, INACTIVE or DELETE_IN_PROGRESS", in.Status)
	}
	descending := false
	switch in.Sort {
	case "", "ASC":
	case "DESC":
		descending = true
	default:
		return nil, api.InvalidParameterException("sort: %q is not ASC or DESC", in.Sort)
	}
	recs, err := c.store.TaskDefinitions(in.FamilyPrefix, status)
	if err != nil {
		return nil, err
	}
	if in.FamilyPrefix != "" {
		recs = slices.DeleteFunc(recs, func(r store.TaskDefinition) bool { return r.Family != in.FamilyPrefix })
	}
	if descending {
		slices.Reverse(recs)
	}
	page, next, err := api.Paginate(recs, revisionOrder, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(page))
	for _, r := range page {
		arns = append(arns, c.namer.TaskDefinition(r.Family, r.Revision))
	}
	return &api.ListTaskDefinitionsOutput{TaskDefinitionArns: arns, NextToken: next}, nil
}

// revisionOrder is the paging key of a revision: it orders as the store
// does, family (as bytes) then revision as a number.
func revisionOrder(r store.TaskDefinition) string {
	return fmt.Sprintf("%s\x00%010d", r.Family, r.Revision)
}

// ListTaskDefinitionFamilies lists the families whose name begins with
// familyPrefix: with status ACTIVE those with an ACTIVE revision, with
// INACTIVE those without one, with ALL (the default) every family.
func (c *Controller) ListTaskDefinitionFamilies(ctx context.Context, in *api.ListTaskDefinitionFamiliesInput) (*api.ListTaskDefinitionFamiliesOutput, error) {
	status := in.Status
	switch status {
	case "":
		status = statusAll
	case store.StatusActive, store.StatusInactive, statusAll:
	default:
		return nil, api.InvalidParameterException("status: %q is not ACTIVE, INACTIVE or ALL", in.Status)
	}
	recs, err := c.store.TaskDefinitions(in.FamilyPrefix, "")
	if err != nil {
		return nil, err
	}
	var families []string
	active := map[string]bool{}
	for _, r := range recs {
		if len(families) == 0 || families[len(families)-1] != r.Family {
			families = append(families, r.Family)
		}
		active[r.Family] = active[r.Family] || r.Status == store.StatusActive
	}
	if status != statusAll {
		families = slices.DeleteFunc(families, func(f string) bool { return active[f] != (status == store.StatusActive) })
	}
	page, next, err := api.Paginate(families, func(f string) string { return f + "\x00" }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []string{}
	}
	return &api.ListTaskDefinitionFamiliesOutput{Families: page, NextToken: next}, nil
}

// taskDefinition shows a stored revision as ECS does: the definition as
// registered, without its tags (they go beside it), and what ECS adds.
func (c *Controller) taskDefinition(rec store.TaskDefinition) *api.TaskDefinition {
	def := rec.Definition
	def.Tags = nil
	out := &api.TaskDefinition{
		TaskDefinition:     def,
		TaskDefinitionArn:  c.namer.TaskDefinition(rec.Family, rec.Revision),
		Revision:           int32(rec.Revision),
		Status:             rec.Status,
		Compatibilities:    compatibilities(def),
		RequiresAttributes: requiresAttributes(def),
		RegisteredAt:       api.Time(rec.RegisteredAt),
	}
	if rec.DeregisteredAt != nil {
		out.DeregisteredAt = api.Time(*rec.DeregisteredAt)
	}
	return out
}

// compatibilities are the launch types the definition passes the rules
// of: EC2, which every valid definition does, and FARGATE when it also
// passes Fargate's.
func compatibilities(def taskdef.TaskDefinition) []string {
	out := []string{taskdef.LaunchEC2}
	data, err := json.Marshal(def)
	if err != nil {
		return out
	}
	if _, report, err := taskdef.Load(data, taskdef.Options{LaunchType: taskdef.LaunchFargate}); err == nil && report.Valid() {
		out = append(out, taskdef.LaunchFargate)
	}
	return out
}

// requiresAttributes are the container instance attributes ECS derives
// from a definition, for the features berth knows: the awsvpc network
// interface, a task role, log drivers, health checks, container ordering.
func requiresAttributes(def taskdef.TaskDefinition) []api.Attribute {
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	if def.NetworkMode == taskdef.NetworkAWSVPC {
		add("ecs.capability.task-eni")
	}
	if def.TaskRoleArn != "" {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	for _, ct := range def.ContainerDefinitions {
		if lc := ct.LogConfiguration; lc != nil && lc.LogDriver != "" {
			add("com.amazonaws.ecs.capability.logging-driver." + lc.LogDriver)
			if lc.LogDriver == "awslogs" && def.ExecutionRoleArn != "" {
				add("ecs.capability.execution-role-awslogs")
			}
		}
		if ct.HealthCheck != nil {
			add("ecs.capability.container-health-check")
		}
		if len(ct.DependsOn) > 0 {
			add("ecs.capability.container-ordering")
		}
	}
	out := make([]api.Attribute, 0, len(names))
	for _, n := range names {
		out = append(out, api.Attribute{Name: n})
	}
	return out
}
