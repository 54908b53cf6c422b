// Package client calls a berth server's ECS API, for the berth CLI: the
// same operations, shapes and errors the aws CLI and the SDKs use, over
// the same wire (controller/api).
//
//	berth cluster list ─► Client.Call("ListClusters", in, &out)
//	    POST ENDPOINT/  X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters
//	    200 ─► out decoded
//	    4xx/5xx {"__type", "message"} ─► *api.Error
//	    nothing answers ─► *UnreachableError
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
)

// EnvEndpoint names the server when no endpoint is given.
const EnvEndpoint = "BERTH_ENDPOINT"

// targetPrefix is what the ECS API's X-Amz-Target starts with.
const targetPrefix = "AmazonEC2ContainerServiceV20141113."

// maxAnswer bounds how much of an answer is read: the largest, a page of
// 100 described tasks, is far below it.
const maxAnswer = 64 << 20

// Endpoint is the server's base URL: flag when given, else $BERTH_ENDPOINT,
// else the server's default address. A bare HOST:PORT gets http://.
func Endpoint(flag string) string { return EndpointOf(flag, os.Getenv) }

// EndpointOf is Endpoint with the environment getenv reads.
func EndpointOf(flag string, getenv func(string) string) string {
	e := flag
	if e == "" {
		e = getenv(EnvEndpoint)
	}
	if e == "" {
		e = server.DefaultListen
	}
	if !strings.Contains(e, "://") {
		e = "http://" + e
	}
	return strings.TrimSuffix(e, "/")
}

// Client is a berth server's ECS API.
type Client struct {
	endpoint string
	token    string
	http     *http.Client
	streams  *http.Client // for answers that stream, which take their time
}

// New returns a client of the server at endpoint (see Endpoint); token,
// when set, goes with every request as a bearer token.
func New(endpoint, token string) *Client {
	return &Client{endpoint: endpoint, token: token, http: &http.Client{Timeout: 2 * time.Minute}, streams: &http.Client{}}
}

// UnreachableError is a server that did not answer at all.
type UnreachableError struct {
	Endpoint string
	Err      error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no berth server answers at %s (%v); start one with: berth server", e.Endpoint, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Call runs operation op with input in and decodes its output into out.
// An error the server answers is an *api.Error; a server that does not
// answer, an *UnreachableError.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	return c.post(ctx, op, "/", in, out)
}

// CallBerth runs berth's own operation op (api.BerthPath), as Call runs
// an ECS one.
func (c *Client) CallBerth(ctx context.Context, op string, in, out any) error {
	return c.post(ctx, op, api.BerthPath+op, in, out)
}

func (c *Client) post(ctx context.Context, op, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode the input: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if path == "/" {
		req.Header.Set("X-Amz-Target", targetPrefix+op)
	}
	answer, err := c.do(ctx, op, req)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("%s: the server's answer does not read as its output: %w", op, err)
	}
	return nil
}

// do sends req with the token, and reads a 200's answer; what is asked
// names the request in errors.
func (c *Client) do(ctx context.Context, what string, req *http.Request) ([]byte, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		return nil, &UnreachableError{Endpoint: c.endpoint, Err: errors.Unwrap(err)}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answerError(resp.StatusCode, answer)
	}
	return answer, nil
}

// answerError reads an ECS error answer. An answer not in ECS's shape
// (a proxy's page, say) still says its status.
func answerError(status int, answer []byte) error {
	var shape struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	if json.Unmarshal(answer, &shape) != nil || shape.Type == "" {
		return &api.Error{Type: fmt.Sprintf("HTTP %d", status), Message: strings.TrimSpace(string(answer))}
	}
	if shape.Message == "" {
		shape.Message = shape.Upper
	}
	// The AWS JSON protocol may qualify the type: "prefix#Name".
	if i := strings.LastIndexByte(shape.Type, '#'); i >= 0 {
		shape.Type = shape.Type[i+1:]
	}
	return &api.Error{Type: shape.Type, Message: shape.Message}
}

// call is Call for a typed operation.
func call[In, Out any](ctx context.Context, c *Client, op string, in *In) (*Out, error) {
	out := new(Out)
	if err := c.Call(ctx, op, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// callBerth is call for one of berth's own operations.
func callBerth[In, Out any](ctx context.Context, c *Client, op string, in *In) (*Out, error) {
	out := new(Out)
	if err := c.CallBerth(ctx, op, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateCluster creates a cluster.
func (c *Client) CreateCluster(ctx context.Context, in *api.CreateClusterInput) (*api.CreateClusterOutput, error) {
	return call[api.CreateClusterInput, api.CreateClusterOutput](ctx, c, "CreateCluster", in)
}

// DeleteCluster deletes a cluster.
func (c *Client) DeleteCluster(ctx context.Context, in *api.DeleteClusterInput) (*api.DeleteClusterOutput, error) {
	return call[api.DeleteClusterInput, api.DeleteClusterOutput](ctx, c, "DeleteCluster", in)
}

// DescribeClusters describes clusters.
func (c *Client) DescribeClusters(ctx context.Context, in *api.DescribeClustersInput) (*api.DescribeClustersOutput, error) {
	return call[api.DescribeClustersInput, api.DescribeClustersOutput](ctx, c, "DescribeClusters", in)
}

// ListClusters lists one page of cluster ARNs.
func (c *Client) ListClusters(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
	return call[api.ListClustersInput, api.ListClustersOutput](ctx, c, "ListClusters", in)
}

// RegisterTaskDefinition registers a task definition.
func (c *Client) RegisterTaskDefinition(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
	return call[api.RegisterTaskDefinitionInput, api.RegisterTaskDefinitionOutput](ctx, c, "RegisterTaskDefinition", in)
}

// DeregisterTaskDefinition deregisters a task definition revision.
func (c *Client) DeregisterTaskDefinition(ctx context.Context, in *api.DeregisterTaskDefinitionInput) (*api.DeregisterTaskDefinitionOutput, error) {
	return call[api.DeregisterTaskDefinitionInput, api.DeregisterTaskDefinitionOutput](ctx, c, "DeregisterTaskDefinition", in)
}

// DescribeTaskDefinition describes a task definition revision.
func (c *Client) DescribeTaskDefinition(ctx context.Context, in *api.DescribeTaskDefinitionInput) (*api.DescribeTaskDefinitionOutput, error) {
	return call[api.DescribeTaskDefinitionInput, api.DescribeTaskDefinitionOutput](ctx, c, "DescribeTaskDefinition", in)
}

// ListTaskDefinitions lists one page of task definition ARNs.
func (c *Client) ListTaskDefinitions(ctx context.Context, in *api.ListTaskDefinitionsInput) (*api.ListTaskDefinitionsOutput, error) {
	return call[api.ListTaskDefinitionsInput, api.ListTaskDefinitionsOutput](ctx, c, "ListTaskDefinitions", in)
}

// AllPages calls page with "" and then each next token page returns, until
// it returns none, and gathers the items.
func AllPages[T any](page func(token string) ([]T, string, error)) ([]T, error) {
	var all []T
	token := ""
	for {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// ListTaskDefinitionFamilies lists one page of task definition families.
func (c *Client) ListTaskDefinitionFamilies(ctx context.Context, in *api.ListTaskDefinitionFamiliesInput) (*api.ListTaskDefinitionFamiliesOutput, error) {
	return call[api.ListTaskDefinitionFamiliesInput, api.ListTaskDefinitionFamiliesOutput](ctx, c, "ListTaskDefinitionFamilies", in)
}

// RegisterContainerInstance registers a container instance with a cluster.
func (c *Client) RegisterContainerInstance(ctx context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
	return call[api.RegisterContainerInstanceInput, api.RegisterContainerInstanceOutput](ctx, c, "RegisterContainerInstance", in)
}

// DeregisterContainerInstance deregisters a container instance.
func (c *Client) DeregisterContainerInstance(ctx context.Context, in *api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error) {
	return call[api.DeregisterContainerInstanceInput, api.DeregisterContainerInstanceOutput](ctx, c, "DeregisterContainerInstance", in)
}

// DescribeContainerInstances describes container instances.
func (c *Client) DescribeContainerInstances(ctx context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
	return call[api.DescribeContainerInstancesInput, api.DescribeContainerInstancesOutput](ctx, c, "DescribeContainerInstances", in)
}

// ListContainerInstances lists one page of container instance ARNs.
func (c *Client) ListContainerInstances(ctx context.Context, in *api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error) {
	return call[api.ListContainerInstancesInput, api.ListContainerInstancesOutput](ctx, c, "ListContainerInstances", in)
}

// UpdateContainerInstancesState drains or activates container instances.
func (c *Client) UpdateContainerInstancesState(ctx context.Context, in *api.UpdateContainerInstancesStateInput) (*api.UpdateContainerInstancesStateOutput, error) {
	return call[api.UpdateContainerInstancesStateInput, api.UpdateContainerInstancesStateOutput](ctx, c, "UpdateContainerInstancesState", in)
}

// ListAttributes lists one page of a cluster's attributes.
func (c *Client) ListAttributes(ctx context.Context, in *api.ListAttributesInput) (*api.ListAttributesOutput, error) {
	return call[api.ListAttributesInput, api.ListAttributesOutput](ctx, c, "ListAttributes", in)
}

// RunTask runs tasks, placed by the server.
func (c *Client) RunTask(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
	return call[api.RunTaskInput, api.RunTaskOutput](ctx, c, "RunTask", in)
}

// StopTask stops a task.
func (c *Client) StopTask(ctx context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error) {
	return call[api.StopTaskInput, api.StopTaskOutput](ctx, c, "StopTask", in)
}

// DescribeTasks describes tasks.
func (c *Client) DescribeTasks(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
	return call[api.DescribeTasksInput, api.DescribeTasksOutput](ctx, c, "DescribeTasks", in)
}

// ListTasks lists one page of task ARNs.
func (c *Client) ListTasks(ctx context.Context, in *api.ListTasksInput) (*api.ListTasksOutput, error) {
	return call[api.ListTasksInput, api.ListTasksOutput](ctx, c, "ListTasks", in)
}

// InterruptTask reclaims a FARGATE_SPOT task's capacity (berth's own
// operation).
func (c *Client) InterruptTask(ctx context.Context, in *api.InterruptTaskInput) (*api.InterruptTaskOutput, error) {
	return callBerth[api.InterruptTaskInput, api.InterruptTaskOutput](ctx, c, "InterruptTask", in)
}

// DescribeTaskLimits reads back the limits the engine enforces on tasks
// (berth's own operation).
func (c *Client) DescribeTaskLimits(ctx context.Context, in *api.DescribeTaskLimitsInput) (*api.DescribeTaskLimitsOutput, error) {
	return callBerth[api.DescribeTaskLimitsInput, api.DescribeTaskLimitsOutput](ctx, c, "DescribeTaskLimits", in)
}

// RegisterTaskDefinitionIfChanged registers def unless it is its family's
// latest ACTIVE revision (berth's own operation).
func (c *Client) RegisterTaskDefinitionIfChanged(ctx context.Context, def *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionIfChangedOutput, error) {
	return callBerth[api.RegisterTaskDefinitionInput, api.RegisterTaskDefinitionIfChangedOutput](ctx, c, "RegisterTaskDefinitionIfChanged", def)
}

// EnsureContainerInstance registers a container instance of the server's
// engine when the cluster has none (berth's own operation).
func (c *Client) EnsureContainerInstance(ctx context.Context, in *api.EnsureContainerInstanceInput) (*api.EnsureContainerInstanceOutput, error) {
	return callBerth[api.EnsureContainerInstanceInput, api.EnsureContainerInstanceOutput](ctx, c, "EnsureContainerInstance", in)
}

// Top is the cluster's capacity and what its running tasks reserve and use
// (GET /berth/v1/top, berth's own); "" is the default cluster.
func (c *Client) Top(ctx context.Context, cluster string) (*api.Top, error) {
	out := new(api.Top)
	return out, c.get(ctx, api.PathTop, cluster, out)
}

// Billing is what the cluster's capacity is billed by (GET /berth/v1/billing,
// berth's own); "" is the default cluster.
func (c *Client) Billing(ctx context.Context, cluster string) (*api.Billing, error) {
	out := new(api.Billing)
	return out, c.get(ctx, api.PathBilling, cluster, out)
}

// get reads one of berth's own endpoints for a cluster into out.
func (c *Client) get(ctx context.Context, path, cluster string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+path+"?"+url.Values{"cluster": {cluster}}.Encode(), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	answer, err := c.do(ctx, "GET "+path, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("GET %s: the server's answer does not read as berth's: %w", path, err)
	}
	return nil
}
