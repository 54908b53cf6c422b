package controller

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// ECS's limits on custom attributes: 10 a call and 10 a resource.
const (
	maxAttributesPerCall     = 10
	maxCustomAttributesOnOne = 10
)

// targetContainerInstance is the one targetType of ECS's attributes.
const targetContainerInstance = "container-instance"

// agentAttribute reports whether name is one the agent sets (ecs.* and the
// com.amazonaws.ecs.capability.* ones) or berth does (berth.*): facts of
// the instance, which PutAttributes and DeleteAttributes leave alone and
// which do not count against the custom attributes' limit.
func agentAttribute(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.") || strings.HasPrefix(name, "berth.")
}

// AttrHostAddress is the attribute that shows an instance's own loopback
// host address, where its tasks' ports bind: the address an EC2 instance's
// private IP stands for, which ECS's shapes leave to EC2's API. Placement
// constraints can name it (memberOf attribute:berth.host-address == …).
const AttrHostAddress = "berth.host-address"

// instanceAttributes are an instance's attributes with its host address.
func instanceAttributes(rec store.ContainerInstance) map[string]string {
	if rec.HostAddress == "" {
		return rec.Attributes
	}
	attrs := make(map[string]string, len(rec.Attributes)+1)
	for k, v := range rec.Attributes {
		attrs[k] = v
	}
	attrs[AttrHostAddress] = rec.HostAddress
	return attrs
}

func customAttributes(attrs map[string]string) int {
	n := 0
	for name := range attrs {
		if !agentAttribute(name) {
			n++
		}
	}
	return n
}

func attributeLimit(attrs map[string]string) error {
	if n := customAttributes(attrs); n > maxCustomAttributesOnOne {
		return api.AttributeLimitExceededException("You can apply up to %d custom attributes for each resource; this one would have %d.", maxCustomAttributesOnOne, n)
	}
	return nil
}

// attributeChange is what one call changes on one instance.
type attributeChange struct {
	id    string
	apply func(map[string]string)
}

// readAttributeTargets checks the attributes of PutAttributes or
// DeleteAttributes and groups them by the instance each targets, in the
// order of first mention.
func (c *Controller) readAttributeTargets(cluster string, in []api.Attribute, put bool) ([]attributeChange, error) {
	if len(in) == 0 || len(in) > maxAttributesPerCall {
		return nil, api.InvalidParameterException("attributes: %d given; give 1 to %d a call", len(in), maxAttributesPerCall)
	}
	var changes []attributeChange
	for i, a := range in {
		value := a.Value
		if !put {
			value = "" // DeleteAttributes takes no value; one given is ignored, as ECS ignores it
		}
		if err := checkAttribute("attributes", i, a.Name, value); err != nil {
			return nil, err
		}
		if agentAttribute(a.Name) {
			setter := "the container agent"
			if strings.HasPrefix(a.Name, "berth.") {
				setter = "berth"
			}
			return nil, api.InvalidParameterException("attributes[%d].name: %q is set by %s and cannot be changed or deleted", i, a.Name, setter)
		}
		id, err := c.attributeTarget(cluster, i, a)
		if err != nil {
			return nil, err
		}
		name := a.Name
		apply := func(attrs map[string]string) { delete(attrs, name) }
		if put {
			apply = func(attrs map[string]string) { attrs[name] = value }
		}
		if j := slices.IndexFunc(changes, func(ch attributeChange) bool { return ch.id == id }); j >= 0 {
			prev := changes[j].apply
			changes[j].apply = func(attrs map[string]string) { prev(attrs); apply(attrs) }
			continue
		}
		changes = append(changes, attributeChange{id: id, apply: apply})
	}
	return changes, nil
}

// attributeTarget reads the instance an attribute targets: an ARN, or an
// ID with targetType container-instance, as ECS requires of the short
// form.
func (c *Controller) attributeTarget(cluster string, i int, a api.Attribute) (string, error) {
	if a.TargetType != "" && a.TargetType != targetContainerInstance {
		return "", api.InvalidParameterException("attributes[%d].targetType: %q is not %s", i, a.TargetType, targetContainerInstance)
	}
	if a.TargetID == "" {
		return "", api.InvalidParameterException("attributes[%d].targetId: the target's ID or ARN is required", i)
	}
	if !strings.HasPrefix(a.TargetID, "arn:") && a.TargetType == "" {
		return "", api.InvalidParameterException("attributes[%d].targetType: required with the short form of targetId", i)
	}
	rec, found, err := c.findInstance(cluster, a.TargetID)
	if err != nil {
		return "", err
	}
	if !found || rec.Status == store.StatusInactive {
		return "", api.TargetNotFoundException("Could not find %s. Make sure the target exists in the cluster and is registered.", a.TargetID)
	}
	return rec.ID, nil
}

// changeAttributes applies the changes, one transaction an instance.
func (c *Controller) changeAttributes(cluster string, changes []attributeChange) error {
	for _, ch := range changes {
		_, err := c.store.UpdateContainerInstance(cluster, ch.id, func(rec *store.ContainerInstance) (bool, error) {
			attrs := maps.Clone(rec.Attributes)
			if attrs == nil {
				attrs = map[string]string{}
			}
			ch.apply(attrs)
			if maps.Equal(attrs, rec.Attributes) {
				return false, nil
			}
			if err := attributeLimit(attrs); err != nil {
				return false, err
			}
			rec.Attributes = attrs
			return true, nil
		})
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInstanceInactive) {
			return api.TargetNotFoundException("Could not find %s. Make sure the target exists in the cluster and is registered.", c.namer.ContainerInstance(cluster, ch.id))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PutAttributes sets custom attributes on container instances, replacing
// the values of names they have already.
func (c *Controller) PutAttributes(ctx context.Context, in *api.PutAttributesInput) (*api.PutAttributesOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	changes, err := c.readAttributeTargets(cluster, in.Attributes, true)
	if err != nil {
		return nil, err
	}
	if err := c.changeAttributes(cluster, changes); err != nil {
		return nil, err
	}
	return &api.PutAttributesOutput{Attributes: in.Attributes}, nil
}

// DeleteAttributes removes custom attributes from container instances;
// names an instance lacks are ignored.
func (c *Controller) DeleteAttributes(ctx context.Context, in *api.DeleteAttributesInput) (*api.DeleteAttributesOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	changes, err := c.readAttributeTargets(cluster, in.Attributes, false)
	if err != nil {
		return nil, err
	}
	if err := c.changeAttributes(cluster, changes); err != nil {
		return nil, err
	}
	return &api.DeleteAttributesOutput{Attributes: in.Attributes}, nil
}

// listedAttribute is an attribute of ListAttributes with its paging key.
type listedAttribute struct {
	key  string
	attr api.Attribute
}

// ListAttributes lists the attributes of a cluster's registered instances,
// agent's and custom, by instance ID then name, each with its instance's
// ARN as targetId; attributeName and attributeValue narrow it.
func (c *Controller) ListAttributes(ctx context.Context, in *api.ListAttributesInput) (*api.ListAttributesOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.TargetType != targetContainerInstance {
		return nil, api.InvalidParameterException("targetType: %q is not %s", in.TargetType, targetContainerInstance)
	}
	if in.AttributeValue != "" && in.AttributeName == "" {
		return nil, api.InvalidParameterException("attributeValue: can only be given with attributeName")
	}
	recs, err := c.store.ContainerInstancesUnloaded(cluster)
	if err != nil {
		return nil, err
	}
	var all []listedAttribute
	for _, rec := range recs {
		if rec.Status == store.StatusInactive {
			continue
		}
		arn := c.namer.ContainerInstance(cluster, rec.ID)
		for _, a := range attributeList(instanceAttributes(rec)) {
			if in.AttributeName != "" && a.Name != in.AttributeName || in.AttributeValue != "" && a.Value != in.AttributeValue {
				continue
			}
			a.TargetType, a.TargetID = targetContainerInstance, arn
			all = append(all, listedAttribute{key: rec.ID + "\x00" + a.Name, attr: a})
		}
	}
	page, next, err := api.Paginate(all, func(l listedAttribute) string { return l.key }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &api.ListAttributesOutput{Attributes: make([]api.Attribute, 0, len(page)), NextToken: next}
	for _, l := range page {
		out.Attributes = append(out.Attributes, l.attr)
	}
	return out, nil
}
