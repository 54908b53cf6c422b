// Package agent runs ECS tasks on one Docker engine, as the ECS container
// agent does on a container instance: it turns a validated, normalised task
// definition into containers, moves the task through ECS's statuses as the
// engine reports what happens, and stops and cleans up as ECS does.
//
// Starting a task (StartTask returns at once; the rest happens in the
// task's own goroutine):
//
//	PROVISIONING  volumes: scratch and task-scoped Docker volumes made, shared
//	              ones found or autoprovisioned, EFS as a local volume per
//	              file system and root directory, which outlives its tasks
//	              as the file system would (the agent never removes it)
//	              pause container (awsvpc, pidMode/ipcMode task) on the
//	              task network, holding the task's address: under awsvpc
//	              the agent's spare when it has one (below); none for an
//	              awsvpc task of one container with nothing to share a
//	              namespace with, on an agent that keeps no spare (below)
//	PENDING       images: pulled per the pull behaviour (berth's own built)
//	              task cgroup /ecs/TASKID (task cpu → CPU quota, memory →
//	              limit; /berth/ID/ecs/TASKID inside the slice of an agent
//	              given Config.Slice, whose tasks without one go straight
//	              under /berth/ID; package cgroups), made just before the task's first container
//	              (its own pause container, when it makes one): by the
//	              agent when it may write the host's cgroups (root), else
//	              by the engine, in a short-lived berth/pause container
//	              running `berth cgroup create` with the host's cgroup
//	              root mounted (which of the two is found once per agent);
//	              a task whose cgroup cannot be made fails to start with a
//	              ResourceInitializationError, never runs unlimited
//	              containers created side by side (at most four creates
//	              at once), whatever their dependsOn, a volumesFrom
//	              container once its source is created; dynamic host
//	              ports chosen from 49153-65535, each attached to
//	              (TaskSpec.Output) before it starts, so that its output
//	              arrives whole whatever the log driver keeps (output.go)
//	              each container started once it is created and its
//	              dependsOn conditions are met (START, COMPLETE, SUCCESS,
//	              HEALTHY), while others may still be being created; a
//	              dependency's startTimeout, from its start, bounds the
//	              last three
//	RUNNING       every container has started, or cannot: as on ECS, a
//	              container whose dependencies can never be met (timed out,
//	              exited non-zero for SUCCESS, never started) or that the
//	              engine refuses to start is STOPPED unstarted with a
//	              CannotStartContainerError reason (exit code 143 for a
//	              dependency); an essential one fails the task
//
// Stopping (StopTask, an essential container's exit, a failed start, or
// the loss of the pause container, which is essential as in the ECS agent:
// without it the task has lost its network namespace):
//
//	desired STOPPED → STOPPING: each container is stopped once every
//	container depending on it has stopped (reverse dependsOn order),
//	SIGTERM then SIGKILL after its stopTimeout
//	DEPROVISIONING: the pause container goes (an awsvpc task without
//	one passes through it all the same)
//	STOPPED: stopCode, stoppedReason, exit codes and reasons final
//	after CleanupWait (or RemoveTask): containers, task volumes and
//	cgroup (the same way it was made) are removed → DELETED
//
// The awsvpc task network, once made, stays while the agent lives; Close
// removes it when no container of any agent is attached. Starting a pause
// container on it costs about as much as a whole docker run, so an agent
// with Config.SparePause (one that runs many tasks) starts a spare one in
// the background once an awsvpc task is RUNNING,
// labelled berth.spare-pause and owned by no task, and the next awsvpc task
// takes it, address and all (then another is made). Where every task comes
// with an address of its own (a server's Fargate agent, Config.SpareRange),
// the spare starts at an address no task is given and waits off the
// network, and the task that takes it joins it to the network at the
// task's address. A spare is not under
// its task's cgroup; it runs nothing but the pause. The containers of a
// task name its pause container in berth.pause-container, which is how a
// new agent finds a pause container that was a spare. Nothing outlives the
// agent: Close removes the spare no task took, and New removes such spares
// (after a crash), an unused task network, and task cgroups whose task has
// no container on the engine and no process and that are over a minute old
// (a younger one may be another agent's task about to create its first
// container).
//
// An agent that keeps no spare (berth run's, which runs one task; a berth
// agent's) gives an awsvpc task whose one container has
// nothing to share a namespace with (no pidMode or ipcMode task) no pause
// container at all, where the ECS agent would make one: the container
// joins the task network itself, at the task's address when it has one
// (else the engine's, which becomes the task's), under the same network
// lease, and is its task's network namespace. That takes the pause
// container's create and start (its network attach) off the task's start.
// docker ps shows no ~internal~ecs~pause container for such a task, and
// what ends it is its container's exit, as for any essential container;
// its task record (alone) tells a new agent that no pause container is
// missing. An agent that keeps spares gives every awsvpc task a pause
// container: the spare it takes is started already, quicker than any
// container's own network attach.
//
// State moves only on the engine's event stream (start, die, kill, oom,
// health_status, exec_die for each health check's output, destroy), each
// event confirmed by an inspect (as is each
// refused start and each finished stop, for which the engine may send no
// event); a die whose inspect fails ends the container with the exit code
// the event carries (one the engine no longer has was removed under the
// task: it vanished, with none). Besides, each task that has not stopped inspects its
// containers every Config.ResyncInterval (a minute), which catches an event
// the stream lost. Callers read it with Task and Tasks or follow it with
// Subscribe.
//
// Each task has one goroutine that owns its state and takes everything
// that moves it (events, StopTask, the engine's answers) from one mailbox.
// The engine calls that may take long run off it, their answers posted
// back to the mailbox: starts, stops, kills and every inspect of a
// container. An engine that hangs on one of them holds up that container
// alone, and a stop requested meanwhile is honoured: it cancels a start
// the engine has not answered, then stops the container whatever the
// start left of it.
//
// Every container carries the ECS agent's labels
// (com.amazonaws.ecs.task-arn and the rest) and berth's own, which hold
// what New needs to resume the tasks already on the engine.
//
// The agent drives the engine through engine.Engine, the calls it makes
// and nothing else (engine.New adapts a Docker client, with a deadline on
// every call); enginetest is one in memory, for tests and benchmarks.
// Config.Clock is the time the tasks keep (startTimeout, the retry of a
// refused stop, the resync, CleanupWait), a clock.Manual in those tests.
//
// The work the agent hands to its subpackages, which know nothing of
// tasks' statuses and take what they need from it as plain values:
//
//	         TaskSpec                        TaskState (Task, Subscribe)
//	            │                                  ▲
//	            ▼                                  │
//	Agent: one goroutine per task, moved by the engine's events
//	   │ a container's plan          │ awsvpc, pidMode/ipcMode task
//	   ▼                             ▼
//	dockerspec.Translate           tasknet: task network, pause
//	   │ create options              │ containers, the spare
//	   ▼                             ▼
//	engine.Engine (a deadline on every call) ─→ Docker engine
//
// dockerspec turns a container of the task, with the agent's decisions
// about it, into Docker's create options without calling the engine;
// tasknet makes the awsvpc network, starts pause containers on it (or a
// task's one container, when it has none) and keeps the spare.
//
// Inside a task, each container with a network finds the task metadata
// endpoint (versions 3 and 4) in ECS_CONTAINER_METADATA_URI_V4 and
// ECS_CONTAINER_METADATA_URI: the agent serves its tasks' metadata and the
// engine's stats of their containers on the host's address on the engine's
// default bridge (docker0), which containers in bridge, host and awsvpc
// mode reach (it is not published on the host's other addresses), from the
// first container until Close.
package agent
