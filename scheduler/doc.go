// Package scheduler decides where ECS tasks run. It is pure code: a snapshot
// of the cluster in, a decision out; it starts nothing and touches no Docker.
//
// Under the EC2 launch type a task goes to one of the cluster's container
// instances, chosen the way ECS documents it:
//
//	Snapshot (ACTIVE instances, remaining CPU/memory/ports, tasks per group)
//	    │
//	    ▼  filters: hard, each rejection carries a Verdict
//	agent connected → CPU → memory → network interface → ports
//	    → required attributes
//	    → distinctInstance → memberOf (cached) → memberOf (task-dependent)
//	    │
//	    ▼  rankers: best effort, lower score wins, later ones break ties
//	strategy 1 → … → strategy 5 → random tie-breaker (seeded)
//	    │
//	    ▼  select
//	the best instance; its resources count against the next task of the
//	same request (Count 1–10)
//	    │
//	    ▼
//	Decision{Placements, Failures}
//
// A policy of one binpack or spread strategy does not rank every instance:
// the Snapshot keeps the ACTIVE instances ordered by remaining CPU and
// memory and, per task group, by the group's tasks on them, and counts the
// group's tasks per attribute value, all updated by AddTask and RemoveTask.
// Placement searches the order for the best score a task can fit, runs the
// filters on the instances of that score until one passes, and chooses
// among such equals with seeded random draws rather than the lowest random
// score of the whole tie. A single random strategy draws among all ACTIVE
// instances the same way. Policies of several strategies rank every
// instance.
//
// When no instance passes the filters, the Decision's Failures carry ECS's
// reasons (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, ATTRIBUTE, AGENT,
// MISSING) and, first, the closest matching instance with what it lacks, in
// the words of the ECS service events ("The closest matching
// (container-instance ID) has insufficient memory available.").
//
// Constraints and strategies arrive as API strings (Constraint, Strategy);
// Compile validates them into a Policy, reporting *ValidationError naming
// the field and the rule. memberOf expressions are the cluster query
// language of package scheduler/query.
//
// Under the Fargate launch type nobody manages instances: package
// scheduler/fargate provisions capacity of exactly the task's size, with its
// own address, spread over availability zones.
package scheduler
