package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ARN is an Amazon Resource Name: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
type ARN struct {
	Partition string
	Service   string
	Region    string
	AccountID string
	Resource  string
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// ParseARN splits an ARN into its parts. The resource may itself hold
// colons (task-definition/web:3).
func ParseARN(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%q is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)", s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}
	if a.Partition == "" || a.Service == "" || a.Resource == "" {
		return ARN{}, fmt.Errorf("%q is not an ARN: partition, service and resource must not be empty", s)
	}
	return a, nil
}

// Namer makes the ARNs of the ECS resources of one region and account.
type Namer struct {
	Partition string // "aws" when empty
	Region    string
	AccountID string
}

func (n Namer) arn(resource string) string {
	p := n.Partition
	if p == "" {
		p = "aws"
	}
	return ARN{Partition: p, Service: "ecs", Region: n.Region, AccountID: n.AccountID, Resource: resource}.String()
}

// Cluster is arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.
func (n Namer) Cluster(name string) string { return n.arn("cluster/" + name) }

// TaskDefinition is arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV.
func (n Namer) TaskDefinition(family string, revision int) string {
	return n.arn("task-definition/" + family + ":" + strconv.Itoa(revision))
}

// Task is arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID.
func (n Namer) Task(cluster, id string) string { return n.arn("task/" + cluster + "/" + id) }

// ContainerInstance is arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID.
func (n Namer) ContainerInstance(cluster, id string) string {
	return n.arn("container-instance/" + cluster + "/" + id)
}

// Container is arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASKID/ID.
func (n Namer) Container(cluster, taskID, id string) string {
	return n.arn("container/" + cluster + "/" + taskID + "/" + id)
}

// NewID makes a task or container instance ID: 32 random hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// DefaultCluster is the cluster of requests that name none.
const DefaultCluster = "default"

var (
	clusterName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	familyName  = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	resourceID  = regexp.MustCompile(`^[a-f0-9]{32}$`)
)

// resourceOf reads ref as an ECS ARN of the given resource type and
// returns what follows "TYPE/"; ok is false when ref is not an ARN at all.
func resourceOf(ref, typ, member string) (rest string, isARN bool, err error) {
	if !strings.HasPrefix(ref, "arn:") {
		return "", false, nil
	}
	a, perr := ParseARN(ref)
	if perr != nil {
		return "", true, InvalidParameterException("%s: %v", member, perr)
	}
	rest, found := strings.CutPrefix(a.Resource, typ+"/")
	if a.Service != "ecs" || !found {
		return "", true, InvalidParameterException("%s: %q is not the ARN of an ECS %s", member, ref, typ)
	}
	return rest, true, nil
}

// ClusterName reads the cluster member of a request: a cluster name or a
// cluster ARN; empty means the default cluster.
func ClusterName(ref string) (string, error) {
	if ref == "" {
		return DefaultCluster, nil
	}
	name, isARN, err := resourceOf(ref, "cluster", "cluster")
	if err != nil {
		return "", err
	}
	if !isARN {
		name = ref
	}
	if !clusterName.MatchString(name) {
		return "", InvalidParameterException("cluster: %q is not a cluster name: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed", truncate(name, 300))
	}
	return name, nil
}

// TaskDefinitionRef reads a task definition reference: FAMILY (revision 0:
// the latest ACTIVE revision), FAMILY:REVISION, or the ARN of a revision.
func TaskDefinitionRef(ref string) (family string, revision int, err error) {
	rest, isARN, err := resourceOf(ref, "task-definition", "taskDefinition")
	if err != nil {
		return "", 0, err
	}
	if !isARN {
		rest = ref
	}
	family, rev, hasRev := strings.Cut(rest, ":")
	if !familyName.MatchString(family) {
		return "", 0, InvalidParameterException("taskDefinition: %q is not a family: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed", truncate(family, 300))
	}
	if isARN && !hasRev {
		return "", 0, InvalidParameterException("taskDefinition: the ARN %q names no revision", ref)
	}
	if !hasRev {
		return family, 0, nil
	}
	n, perr := strconv.Atoi(rev)
	if perr != nil || n < 1 || rev[0] == '+' {
		return "", 0, InvalidParameterException("taskDefinition: revision %q is not a positive whole number", truncate(rev, 50))
	}
	return family, n, nil
}

// TaskRef reads a task reference: an ID (32 hex digits) or a task ARN,
// arn:...:task/CLUSTER/ID (or the older arn:...:task/ID, which names no
// cluster). cluster is the cluster the ARN names, empty for an ID.
func TaskRef(ref string) (cluster, id string, err error) {
	return clusterScoped(ref, "task")
}

// ContainerInstanceRef reads a container instance reference: an ID or an
// ARN, arn:...:container-instance/CLUSTER/ID (or the older form without the
// cluster).
func ContainerInstanceRef(ref string) (cluster, id string, err error) {
	return clusterScoped(ref, "container-instance")
}

func clusterScoped(ref, typ string) (cluster, id string, err error) {
	member := map[string]string{"task": "task", "container-instance": "containerInstance"}[typ]
	rest, isARN, err := resourceOf(ref, typ, member)
	if err != nil {
		return "", "", err
	}
	id = ref
	if isARN {
		var found bool
		cluster, id, found = strings.Cut(rest, "/")
		if !found {
			cluster, id = "", rest
		} else if !clusterName.MatchString(cluster) {
			return "", "", InvalidParameterException("%s: %q names no valid cluster", member, truncate(ref, 300))
		}
	}
	if !resourceID.MatchString(id) {
		return "", "", InvalidParameterException("%s: %q is not a %s ID (32 hexadecimal digits) or ARN", member, truncate(id, 300), typ)
	}
	return cluster, id, nil
}
