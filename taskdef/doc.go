// Package taskdef reads ECS task definitions the way ECS's
// RegisterTaskDefinition takes them, checks them with ECS's rules and
// normalises them for the scheduler and the agent. It is pure code: no
// engine, no network, no state.
//
//	bytes ─► Decode ─► Document: the JSON, each value's position kept,
//	  │               duplicate keys warned of (the later one wins, as in
//	  │               the AWS CLI); only unreadable input is an error
//	  ▼
//	Check(doc, Options{LaunchType})
//	  1. unknown fields (did you mean …?), integer fields that are no
//	     32-bit integers, the JSON Schema of schema.json (shape, types,
//	     enums, ranges)
//	  2. ECS's rules a schema cannot say (rules.go, fargate.go): names,
//	     sums against the task, dependsOn, Fargate's sizes and limits …,
//	     each a named rule in ECS's words, listed in docs/validation.md
//	  3. normalisation: cpu and memory as units and MiB, defaults filled in
//	  │  each layer runs only when the one before found nothing; all
//	  │  positions (LINE:COL) are found in one pass over the input
//	  ▼
//	Report{Errors, Warnings, Notes} and, when valid, the Normalized definition
//
// Load does all of it. Placeholders a pipeline fills in later (in images
// and role ARNs) and what berth only approximates locally are warnings, so
// templates and real definitions validate as ECS would take them.
package taskdef
