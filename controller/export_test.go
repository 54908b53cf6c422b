package controller

import "github.com/berthdev/berth/controller/store"

// OnStatusRecorded has fn told of each change of a task's lastStatus the
// controller records, with the record as it then is.
func (c *Controller) OnStatusRecorded(fn func(store.Task)) { c.statusRecorded.Store(&fn) }
