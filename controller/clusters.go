package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// The one cluster setting ECS has, and the values it takes.
const settingContainerInsights = "containerInsights"

var containerInsightsValues = []string{"enabled", "disabled", "enhanced"}

// CreateCluster creates a cluster, or returns the ACTIVE cluster of that
// name unchanged, as ECS does. No name means "default". Settings,
// configuration and capacity providers are kept and shown back; berth acts
// on none of them.
func (c *Controller) CreateCluster(ctx context.Context, in *api.CreateClusterInput) (*api.CreateClusterOutput, error) {
	name, err := api.ClusterName(in.ClusterName)
	if err != nil {
		return nil, invalidClusterName(in.ClusterName, err)
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return nil, err
	}
	settings, err := clusterSettings(in.Settings)
	if err != nil {
		return nil, err
	}
	rec := store.Cluster{Name: name, Tags: in.Tags, CapacityProviders: in.CapacityProviders}
	if rec.Settings, err = json.Marshal(settings); err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	if err := marshalOptional(&rec.Configuration, in.Configuration); err != nil {
		return nil, err
	}
	if err := marshalOptional(&rec.DefaultCapacityProviderStrategy, in.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	if err := marshalOptional(&rec.ServiceConnectDefaults, in.ServiceConnectDefaults); err != nil {
		return nil, err
	}
	rec, _, err = c.store.CreateCluster(rec, c.now())
	if err != nil {
		return nil, err
	}
	return &api.CreateClusterOutput{Cluster: c.cluster(rec, allClusterDetails)}, nil
}

// invalidClusterName says what ECS says of a bad clusterName, which is not
// the cluster member ClusterName's message names.
func invalidClusterName(name string, err error) error {
	var e *api.Error
	if errors.As(err, &e) {
		return api.InvalidParameterException("clusterName: %q is not a cluster name: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed", name)
	}
	return err
}

// clusterSettings checks the settings of CreateCluster and fills in
// containerInsights, disabled unless given, as ECS shows it.
func clusterSettings(in []api.ClusterSetting) ([]api.ClusterSetting, error) {
	out := []api.ClusterSetting{{Name: settingContainerInsights, Value: "disabled"}}
	for i, s := range in {
		if s.Name != settingContainerInsights {
			return nil, api.InvalidParameterException("settings[%d].name: %q is not a cluster setting; the one setting is %s", i, s.Name, settingContainerInsights)
		}
		if !slices.Contains(containerInsightsValues, s.Value) {
			return nil, api.InvalidParameterException("settings[%d].value: %q is not a value of %s: enabled, disabled or enhanced", i, s.Value, settingContainerInsights)
		}
		out[0].Value = s.Value
	}
	return out, nil
}

// marshalOptional keeps v as JSON in dst when it is set.
func marshalOptional[T any](dst *json.RawMessage, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode cluster field: %w", err)
	}
	if string(b) != "null" && string(b) != "[]" {
		*dst = b
	}
	return nil
}

// DeleteCluster makes a cluster INACTIVE, refusing as ECS does while it
// has container instances or tasks. Deleting an INACTIVE cluster answers
// it as it is, as ECS does.
func (c *Controller) DeleteCluster(ctx context.Context, in *api.DeleteClusterInput) (*api.DeleteClusterOutput, error) {
	name, err := api.ClusterName(in.Cluster)
	if err != nil {
		return nil, err
	}
	rec, err := c.store.DeleteCluster(name, c.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, api.ClusterNotFoundException("")
	case errors.Is(err, store.ErrClusterHasInstances):
		return nil, api.ClusterContainsContainerInstancesException("The Cluster cannot be deleted while Container Instances are active or draining.")
	case errors.Is(err, store.ErrClusterHasTasks):
		return nil, api.ClusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.")
	case err != nil:
		return nil, err
	}
	return &api.DeleteClusterOutput{Cluster: c.cluster(rec, allClusterDetails)}, nil
}

// The details DescribeClusters shows only when included.
type clusterDetails struct {
	attachments, configurations, settings, statistics, tags bool
}

// allClusterDetails is what CreateCluster and DeleteCluster show.
var allClusterDetails = clusterDetails{attachments: true, configurations: true, settings: true, tags: true}

func readInclude(include []string) (clusterDetails, error) {
	var d clusterDetails
	for i, v := range include {
		switch v {
		case "ATTACHMENTS":
			d.attachments = true
		case "CONFIGURATIONS":
			d.configurations = true
		case "SETTINGS":
			d.settings = true
		case "STATISTICS":
			d.statistics = true
		case "TAGS":
			d.tags = true
		default:
			return d, api.InvalidParameterException("include[%d]: %q is not one of ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS", i, v)
		}
	}
	return d, nil
}

// DescribeClusters describes clusters by name or ARN, the default cluster
// when none is named. INACTIVE clusters are described as INACTIVE; a
// cluster that never existed is a failure with reason MISSING.
func (c *Controller) DescribeClusters(ctx context.Context, in *api.DescribeClustersInput) (*api.DescribeClustersOutput, error) {
	details, err := readInclude(in.Include)
	if err != nil {
		return nil, err
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{api.DefaultCluster}
	}
	if len(refs) > api.MaxResults {
		return nil, api.InvalidParameterException("clusters: %d clusters named; at most %d may be described at once", len(refs), api.MaxResults)
	}
	out := &api.DescribeClustersOutput{Clusters: []api.Cluster{}, Failures: []api.Failure{}}
	for _, ref := range refs {
		name, err := api.ClusterName(ref)
		if err != nil {
			return nil, err
		}
		rec, err := c.store.Cluster(name)
		if errors.Is(err, store.ErrNotFound) {
			out.Failures = append(out.Failures, api.Failure{Arn: c.namer.Cluster(name), Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, err
		}
		cluster := c.cluster(rec, details)
		n, err := c.store.RegisteredInstances(name)
		if err != nil {
			return nil, err
		}
		cluster.RegisteredContainerInstancesCount = int32(n)
		out.Clusters = append(out.Clusters, *cluster)
	}
	return out, nil
}

// ListClusters lists the ARNs of the ACTIVE clusters, in name order.
func (c *Controller) ListClusters(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
	recs, err := c.store.Clusters(store.StatusActive)
	if err != nil {
		return nil, err
	}
	page, next, err := api.Paginate(recs, func(r store.Cluster) string { return r.Name }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(page))
	for _, r := range page {
		arns = append(arns, c.namer.Cluster(r.Name))
	}
	return &api.ListClustersOutput{ClusterArns: arns, NextToken: next}, nil
}

// clusterStatistics are the statistics ECS gives with include STATISTICS.
var clusterStatistics = []string{
	"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
	"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
}

// cluster shows a record as ECS does. The counts are 0 until berth keeps
// tasks and services; DescribeClusters counts the registered instances.
func (c *Controller) cluster(rec store.Cluster, d clusterDetails) *api.Cluster {
	out := &api.Cluster{
		ClusterArn:        c.namer.Cluster(rec.Name),
		ClusterName:       rec.Name,
		Status:            rec.Status,
		CapacityProviders: rec.CapacityProviders,
	}
	// Records are berth's own JSON of these shapes: they decode.
	_ = json.Unmarshal(orNull(rec.DefaultCapacityProviderStrategy), &out.DefaultCapacityProviderStrategy)
	_ = json.Unmarshal(orNull(rec.ServiceConnectDefaults), &out.ServiceConnectDefaults)
	if d.settings {
		_ = json.Unmarshal(orNull(rec.Settings), &out.Settings)
	}
	if d.configurations {
		_ = json.Unmarshal(orNull(rec.Configuration), &out.Configuration)
	}
	if d.statistics {
		out.Statistics = make([]api.KeyValuePair, 0, len(clusterStatistics))
		for _, name := range clusterStatistics {
			out.Statistics = append(out.Statistics, api.KeyValuePair{Name: name, Value: "0"})
		}
	}
	if d.tags {
		out.Tags = rec.Tags
	}
	return out
}

func orNull(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}
