// Package agent runs ECS tasks on one Docker engine, as the ECS container
// agent does on a container instance: it turns a validated, normalised task
// definition into containers, moves the task through ECS's statuses as the
// engine reports what happens, and stops and cleans up as ECS does.
//
// Starting a task (StartTask returns at once; the rest happens in the
// task's own goroutine):
//
//	PROVISIONING  task cgroup /ecs/TASKID (task cpu → CPU quota, memory → limit)
//	              volumes: scratch and task-scoped Docker volumes made, shared
//	              ones found or autoprovisioned, EFS as a local volume per
//	              file system and root directory, which outlives its tasks
//	              as the file system would (the agent never removes it)
//	              pause container (awsvpc, pidMode/ipcMode task) on the
//	              task network, holding the task's address
//	PENDING       images: pulled per the pull behaviour (berth's own built)
//	              containers created, volumesFrom sources first, dynamic
//	              host ports chosen from 49153-65535
//	              containers started as their dependsOn conditions are met
//	              (START, COMPLETE, SUCCESS, HEALTHY); a dependency's
//	              startTimeout, from its start, bounds the last three
//	RUNNING       every container has started, or cannot: as on ECS, a
//	              container whose dependencies can never be met (timed out,
//	              exited non-zero for SUCCESS, never started) or that the
//	              engine refuses to start is STOPPED unstarted with a
//	              CannotStartContainerError reason (exit code 143 for a
//	              dependency); an essential one fails the task
//
// Stopping (StopTask, an essential container's exit, a failed start):
//
//	desired STOPPED → STOPPING: each container is stopped once every
//	container depending on it has stopped (reverse dependsOn order),
//	SIGTERM then SIGKILL after its stopTimeout
//	DEPROVISIONING: the pause container goes
//	STOPPED: stopCode, stoppedReason, exit codes and reasons final
//	after CleanupWait (or RemoveTask): containers, task volumes, cgroup
//	and, with its last task, the task network are removed → DELETED
//
// State moves only on the engine's event stream (start, die, oom,
// health_status, destroy), each event confirmed by an inspect (as is each
// refused start and each finished stop, for which the engine may send no
// event); there is no polling. Callers read it with Task and Tasks or follow it with
// Subscribe. Every container carries the ECS agent's labels
// (com.amazonaws.ecs.task-arn and the rest) and berth's own, which hold
// what New needs to resume the tasks already on the engine.
package agent
