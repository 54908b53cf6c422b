package taskdef

import (
	"fmt"
	"slices"
)

// Check validates a decoded document for a launch type and, when it is
// valid, normalises it. The checks run in three layers, each only when the
// one before found nothing: unknown fields and the JSON Schema (shape,
// types, enums, ranges), then ECS's rules that a schema cannot say, then
// normalisation. Warnings are gathered throughout.
func Check(doc *Document, opts Options) *Report {
	r := &Report{Notes: doc.notes, Warnings: slices.Clone(doc.warnings)}
	numbers := doc.numberProblems()
	r.Errors = append(doc.unknownFields(), numbers...)
	r.Errors = append(r.Errors, withoutPointers(doc.schemaProblems(), numbers)...)
	if len(r.Errors) > 0 {
		doc.locateAll(r.Errors, r.Warnings, r.Notes)
		sortProblems(r.Errors)
		return r
	}
	if err := doc.decodeDefinition(&doc.Definition); err != nil {
		r.Errors = append(r.Errors, doc.at("", "decode", fmt.Sprintf("cannot decode the definition: %v", err)))
		doc.locateAll(r.Errors, r.Warnings, r.Notes)
		return r
	}
	c := &checker{doc: doc, def: &doc.Definition, launchType: launchTypeFor(&doc.Definition, opts)}
	c.fargate = c.launchType == LaunchFargate || slices.Contains(c.def.RequiresCompatibilities, LaunchFargate)
	c.run()
	r.Errors = append(r.Errors, c.errors...)
	r.Warnings = append(r.Warnings, c.warnings...)
	doc.locateAll(r.Errors, r.Warnings, r.Notes)
	sortProblems(r.Errors)
	sortProblems(r.Warnings)
	if len(r.Errors) == 0 {
		r.task = normalize(&doc.Definition, c.launchType, c.cpu, c.memory)
		r.task.Warnings = r.Warnings
	}
	return r
}

// launchTypeFor decides the launch type a definition runs as: the one asked
// for, else FARGATE when the definition requires FARGATE and not EC2.
// Fargate's rules apply more widely: whenever FARGATE is required at all.
func launchTypeFor(def *TaskDefinition, opts Options) string {
	if opts.LaunchType != "" {
		return opts.LaunchType
	}
	if slices.Contains(def.RequiresCompatibilities, LaunchFargate) && !slices.Contains(def.RequiresCompatibilities, LaunchEC2) {
		return LaunchFargate
	}
	return LaunchEC2
}

// sortProblems orders problems as they stand in the source, so output reads
// top to bottom; problems without a position keep their order at the front.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}
