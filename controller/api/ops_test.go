package api_test

import (
	"context"
	"reflect"

	"github.com/berthdev/berth/controller/api"
)

// operationInputs names the input shape of every operation of the package,
// so tests can register them all and walk their members.
var operationInputs = map[string]reflect.Type{
	"CreateCluster":                 reflect.TypeFor[api.CreateClusterInput](),
	"DeleteCluster":                 reflect.TypeFor[api.DeleteClusterInput](),
	"DescribeClusters":              reflect.TypeFor[api.DescribeClustersInput](),
	"ListClusters":                  reflect.TypeFor[api.ListClustersInput](),
	"RegisterTaskDefinition":        reflect.TypeFor[api.RegisterTaskDefinitionInput](),
	"DeregisterTaskDefinition":      reflect.TypeFor[api.DeregisterTaskDefinitionInput](),
	"DescribeTaskDefinition":        reflect.TypeFor[api.DescribeTaskDefinitionInput](),
	"ListTaskDefinitions":           reflect.TypeFor[api.ListTaskDefinitionsInput](),
	"ListTaskDefinitionFamilies":    reflect.TypeFor[api.ListTaskDefinitionFamiliesInput](),
	"RegisterContainerInstance":     reflect.TypeFor[api.RegisterContainerInstanceInput](),
	"DeregisterContainerInstance":   reflect.TypeFor[api.DeregisterContainerInstanceInput](),
	"DescribeContainerInstances":    reflect.TypeFor[api.DescribeContainerInstancesInput](),
	"ListContainerInstances":        reflect.TypeFor[api.ListContainerInstancesInput](),
	"UpdateContainerInstancesState": reflect.TypeFor[api.UpdateContainerInstancesStateInput](),
	"PutAttributes":                 reflect.TypeFor[api.PutAttributesInput](),
	"DeleteAttributes":              reflect.TypeFor[api.DeleteAttributesInput](),
	"ListAttributes":                reflect.TypeFor[api.ListAttributesInput](),
	"RunTask":                       reflect.TypeFor[api.RunTaskInput](),
	"StartTask":                     reflect.TypeFor[api.StartTaskInput](),
	"StopTask":                      reflect.TypeFor[api.StopTaskInput](),
	"DescribeTasks":                 reflect.TypeFor[api.DescribeTasksInput](),
	"ListTasks":                     reflect.TypeFor[api.ListTasksInput](),
	"TagResource":                   reflect.TypeFor[api.TagResourceInput](),
	"UntagResource":                 reflect.TypeFor[api.UntagResourceInput](),
	"ListTagsForResource":           reflect.TypeFor[api.ListTagsForResourceInput](),
	"SubmitTaskStateChange":         reflect.TypeFor[api.SubmitTaskStateChangeInput](),
	"SubmitContainerStateChange":    reflect.TypeFor[api.SubmitContainerStateChangeInput](),
}

// called records the operations a test mux ran.
type called struct{ ops []string }

// register adds an operation to mux that records its call and answers an
// empty output.
func register[In any](mux *api.Mux, c *called, name string) {
	api.Handle(mux, name, func(ctx context.Context, in *In) (*struct{}, error) {
		c.ops = append(c.ops, name)
		return nil, nil
	})
}

// newRecordingMux registers every operation of the package.
func newRecordingMux() (*api.Mux, *called) {
	mux, c := api.NewMux(discardLogger()), &called{}
	register[api.CreateClusterInput](mux, c, "CreateCluster")
	register[api.DeleteClusterInput](mux, c, "DeleteCluster")
	register[api.DescribeClustersInput](mux, c, "DescribeClusters")
	register[api.ListClustersInput](mux, c, "ListClusters")
	register[api.RegisterTaskDefinitionInput](mux, c, "RegisterTaskDefinition")
	register[api.DeregisterTaskDefinitionInput](mux, c, "DeregisterTaskDefinition")
	register[api.DescribeTaskDefinitionInput](mux, c, "DescribeTaskDefinition")
	register[api.ListTaskDefinitionsInput](mux, c, "ListTaskDefinitions")
	register[api.ListTaskDefinitionFamiliesInput](mux, c, "ListTaskDefinitionFamilies")
	register[api.RegisterContainerInstanceInput](mux, c, "RegisterContainerInstance")
	register[api.DeregisterContainerInstanceInput](mux, c, "DeregisterContainerInstance")
	register[api.DescribeContainerInstancesInput](mux, c, "DescribeContainerInstances")
	register[api.ListContainerInstancesInput](mux, c, "ListContainerInstances")
	register[api.UpdateContainerInstancesStateInput](mux, c, "UpdateContainerInstancesState")
	register[api.PutAttributesInput](mux, c, "PutAttributes")
	register[api.DeleteAttributesInput](mux, c, "DeleteAttributes")
	register[api.ListAttributesInput](mux, c, "ListAttributes")
	register[api.RunTaskInput](mux, c, "RunTask")
	register[api.StartTaskInput](mux, c, "StartTask")
	register[api.StopTaskInput](mux, c, "StopTask")
	register[api.DescribeTasksInput](mux, c, "DescribeTasks")
	register[api.ListTasksInput](mux, c, "ListTasks")
	register[api.TagResourceInput](mux, c, "TagResource")
	register[api.UntagResourceInput](mux, c, "UntagResource")
	register[api.ListTagsForResourceInput](mux, c, "ListTagsForResource")
	register[api.SubmitTaskStateChangeInput](mux, c, "SubmitTaskStateChange")
	register[api.SubmitContainerStateChangeInput](mux, c, "SubmitContainerStateChange")
	return mux, c
}
