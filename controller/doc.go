// Package controller is berth's controller core: it owns the desired state
// of clusters, task definitions and container instances (and, as they
// come, tasks), kept in the store, and does ECS's operations on it. The ECS
// API is a thin adapter over it: Register puts its methods on an api.Mux,
// which decodes each request into the operation's input and writes its
// output or error as ECS does.
//
//	aws ecs … / AWS SDK ─► api.Mux ─► Controller.CreateCluster(ctx, *api.CreateClusterInput)
//	                                      │ checks ECS's rules (names, tags, settings)
//	                                      ▼
//	                                  store.CreateCluster ─ one bbolt transaction
//
// Every change is one store transaction, so concurrent requests never see
// half of one, and a restarted server reads everything back from the store.
//
// The methods take and return the shapes of package api and fail with its
// *api.Error values (ClusterNotFoundException, ClientException …), made
// here from the store's sentinel errors; any other error is berth's own
// fault and reaches the client as a ServerException.
//
// What ECS does and berth follows:
//   - CreateCluster is idempotent on the name; no name means "default".
//     The default cluster is not there until it is created (by
//     CreateCluster and RegisterContainerInstance now, by RunTask later):
//     DescribeClusters of it before then answers MISSING.
//   - DeleteCluster makes a cluster INACTIVE; DescribeClusters still shows
//     it, ListClusters does not, deleting it again answers it as it is,
//     and CreateCluster of the name makes it ACTIVE afresh. It refuses
//     while the cluster holds container instances or tasks
//     (store.ErrClusterHasInstances, store.ErrClusterHasTasks).
//   - Task definitions are validated by package taskdef and stored as
//     registered; revisions count up per family and are never reused.
//   - A container instance is a slice of the local engine: a record with
//     ECS's attributes, its registered resources and a loopback host
//     address of its own (store.ContainerInstance.HostAddress), where its
//     tasks' ports will bind. Re-registering it under its ARN keeps its
//     identity; deregistering makes it INACTIVE and it stays describable.
//     What tasks hold on it (running and pending counts, remaining
//     resources, the refusal to deregister without force) comes from
//     store.InstanceLoad, which the store adds up from the instance's
//     tasks.
//   - An instance may instead be another engine's, registered by the
//     berth agent that runs it over its own connection (remote.go,
//     docs/agent-protocol.md): placement and the store treat it as any
//     other, the task is handed to its agent (runner), and an agent
//     silent for Options.AgentTimeout makes it agentConnected false.
//   - Attributes the agent sets (ecs.*, com.amazonaws.ecs.*) are facts of
//     the instance: PutAttributes and DeleteAttributes refuse them.
//   - RunTask places EC2 tasks with the scheduler; StartTask puts them on
//     the instances named. Both check and commit what each task holds of
//     its instance under placeMu, in one store transaction, before any
//     container starts, and a refused request records nothing. What they
//     check against is the cluster's instances, read from the store, and
//     what the tasks not STOPPED hold of each, from an index kept in
//     memory as the tasks change (placeindex.go): the store tells it of
//     every commit that writes tasks, in commit order, so a task holds its
//     instance from the commit that records it until the one that records
//     it STOPPED, and a placement reads none of the cluster's tasks.
//   - A task's lastStatus is what its agent reports, never going back; a
//     task with a network interface of its own (every Fargate task) also
//     passes through ACTIVATING and DEACTIVATING, the control plane's
//     steps, which the controller records itself (see observe). The
//     reports that arrive while one is written go into the store
//     together, in one transaction (reports.go).
//   - What running tasks use comes from the engine's stats, sampled every
//     UsageInterval in rounds (usage.go), and is what CloudWatch's
//     CPUUtilization and MemoryUtilization divide by what is reserved or
//     registered: the metrics (MetricsState) sum it, berth top reads it
//     task by task (Top), and berth cost prices what Billing lists.
//
// Beside the ECS API, Handler serves berth's own streams: each task's
// container output, kept by package logstore until the task is forgotten
// (logs.go; awslogs streams also answer CloudWatch Logs' GetLogEvents,
// cloudwatch.go), and each change of a task or instance as the EventBridge
// event ECS sends, the latest EventHistory of them kept (events.go).
package controller
