// Package examples holds berth's example task definitions: the runnable
// ones in this directory, one ECS concept each, and common mistakes in
// invalid/. README.md teaches ECS with them. The package has no code of its
// own; its tests keep every example valid (and every mistake invalid), so
// the lessons cannot drift from what berth accepts.
package examples
