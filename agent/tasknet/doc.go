// Package tasknet is the network side of berth's tasks on a Docker engine:
// the awsvpc task network, where each task has an address of its own as an
// ENI gives it on ECS, and the pause containers that hold a task's shared
// namespaces, as the ECS agent's ~internal~ecs~pause container does.
//
//	Network   the bridge network awsvpc tasks get their addresses on
//	          (DefaultName, a free 10.200-249.0.0/16 unless configured),
//	          found or made once (Ensure) and kept while its agent lives;
//	          agents that make it at the same moment settle on the oldest
//	          network of the name, and one removed by another agent
//	          between its making and its use is made again
//	lease     an flock(2) per engine and network name: joining (Join,
//	          held until the pause container has started) and removing
//	          (RemoveIfUnused) take turns, so a removal never races a
//	          join into an endpoint the engine cannot remove
//	pause     PauseConfig, CreatePause and RunPause make a pause container
//	          on the network and give its address; CreateAlone and
//	          StartAlone do as much for a task's one container when
//	          nothing shares its namespaces (CanGoAlone), which then
//	          needs no pause container
//	Spares    one started pause container kept ahead of the agent's next
//	          awsvpc task, which takes it, address and all (Take); or,
//	          parked (SparesConfig.Park) off the network for tasks with
//	          addresses of their own, joined to it at the task's address
//
// The agent decides which task needs a pause container (NeedsPause), owns
// its lifecycle as a task's container and removes what it made; this
// package talks to the engine only through the calls in Engine, and knows
// of the agent only what Config and SparesConfig give it as plain values.
package tasknet
