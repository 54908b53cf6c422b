package api

import "github.com/berthdev/berth/taskdef"

// RegisterTaskDefinitionInput is the input of RegisterTaskDefinition: the
// task definition as berth's taskdef package models it, member for member.
// The operation validates it with taskdef's rules.
type RegisterTaskDefinitionInput = taskdef.TaskDefinition

// TaskDefinition is a registered task definition as ECS shows it: the
// registered input plus what ECS adds. Leave the embedded Tags empty: the
// model's TaskDefinition has none, the outputs carry them beside it.
type TaskDefinition struct {
	taskdef.TaskDefinition
	TaskDefinitionArn  string      `json:"taskDefinitionArn,omitempty"`
	Revision           int32       `json:"revision"`
	Status             string      `json:"status,omitempty"`
	RequiresAttributes []Attribute `json:"requiresAttributes,omitempty"`
	Compatibilities    []string    `json:"compatibilities,omitempty"`
	RegisteredAt       Timestamp   `json:"registeredAt,omitzero"`
	DeregisteredAt     Timestamp   `json:"deregisteredAt,omitzero"`
	DeleteRequestedAt  Timestamp   `json:"deleteRequestedAt,omitzero"`
	RegisteredBy       string      `json:"registeredBy,omitempty"`
}

// RegisterTaskDefinitionOutput is the output of RegisterTaskDefinition.
type RegisterTaskDefinitionOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// DeregisterTaskDefinitionInput is the input of DeregisterTaskDefinition:
// family:revision or a full ARN.
type DeregisterTaskDefinitionInput struct {
	TaskDefinition string `json:"taskDefinition" ecs:"required"`
}

// DeregisterTaskDefinitionOutput is the output of DeregisterTaskDefinition.
type DeregisterTaskDefinitionOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
}

// DescribeTaskDefinitionInput is the input of DescribeTaskDefinition:
// family (latest ACTIVE revision), family:revision or an ARN. Include
// takes TAGS.
type DescribeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition" ecs:"required"`
	Include        []string `json:"include,omitempty"`
}

// DescribeTaskDefinitionOutput is the output of DescribeTaskDefinition.
type DescribeTaskDefinitionOutput struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// ListTaskDefinitionsInput is the input of ListTaskDefinitions. Status is
// ACTIVE (the default), INACTIVE or DELETE_IN_PROGRESS; Sort ASC or DESC.
type ListTaskDefinitionsInput struct {
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	Status       string `json:"status,omitempty"`
	Sort         string `json:"sort,omitempty"`
	NextToken    string `json:"nextToken,omitempty"`
	MaxResults   *int32 `json:"maxResults,omitempty"`
}

// ListTaskDefinitionsOutput is the output of ListTaskDefinitions.
type ListTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          string   `json:"nextToken,omitempty"`
}

// ListTaskDefinitionFamiliesInput is the input of
// ListTaskDefinitionFamilies. Status is ACTIVE, INACTIVE or ALL.
type ListTaskDefinitionFamiliesInput struct {
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	Status       string `json:"status,omitempty"`
	NextToken    string `json:"nextToken,omitempty"`
	MaxResults   *int32 `json:"maxResults,omitempty"`
}

// ListTaskDefinitionFamiliesOutput is the output of
// ListTaskDefinitionFamilies.
type ListTaskDefinitionFamiliesOutput struct {
	Families  []string `json:"families"`
	NextToken string   `json:"nextToken,omitempty"`
}
