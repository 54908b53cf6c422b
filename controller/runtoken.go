package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// runOnce is a RunTask's client token and a digest of the rest of its
// request. ECS keeps a RunTask's client token for a day within its
// cluster: a retry with the same token and the same request is answered
// with the tasks the first call started and starts none, and the same
// token with another request is a ConflictException. The AWS SDKs and CLI
// give every RunTask a token of their own, so a retry after a timeout never
// starts the tasks twice.
type runOnce struct {
	token, request string
}

// newRunOnce checks a RunTask's client token as ECS does (up to 64 ASCII
// characters from 33 to 126) and digests the request; without a token it
// returns nil.
func newRunOnce(in *api.RunTaskInput) (*runOnce, error) {
	if in.ClientToken == "" {
		return nil, nil
	}
	if len(in.ClientToken) > 64 {
		return nil, api.InvalidParameterException("clientToken: at most 64 characters; got %d", len(in.ClientToken))
	}
	for i := 0; i < len(in.ClientToken); i++ {
		if b := in.ClientToken[i]; b < 33 || b > 126 {
			return nil, api.InvalidParameterException("clientToken: character %d is not a printable ASCII character other than a space (33 to 126)", i+1)
		}
	}
	req := *in
	req.ClientToken = ""
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &runOnce{token: in.ClientToken, request: hex.EncodeToString(sum[:])}, nil
}

// repeatedRunError is a RunTask whose client token a RunTask used before.
type repeatedRunError struct{ prior store.RunToken }

func (e *repeatedRunError) Error() string { return "client token already used" }

// repeated answers a RunTask whose token was used before (found by the
// store, before anything was placed, or at the commit): with the tasks that
// RunTask started, as they are now, and its failures; a request other than
// that RunTask's is a ConflictException.
func (c *Controller) repeated(cluster string, once *runOnce, prior store.RunToken) (*api.RunTaskOutput, error) {
	if prior.Request != once.request {
		return nil, api.ConflictException("The clientToken %s was used by a RunTask with other parameters; use a new token for a new request.", once.token)
	}
	out := &api.RunTaskOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
	if len(prior.Failures) > 0 {
		if err := json.Unmarshal(prior.Failures, &out.Failures); err != nil {
			return nil, err
		}
	}
	recs, err := c.store.TasksByID(cluster, prior.TaskIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range prior.TaskIDs {
		rec, ok := recs[id]
		if !ok {
			continue // forgotten since: stopped more than the retention ago
		}
		t, err := taskOf(rec)
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, *t)
	}
	return out, nil
}

// usedBefore answers a RunTask whose client token a RunTask used before,
// and reports whether it was.
func (c *Controller) usedBefore(cluster string, once *runOnce) (*api.RunTaskOutput, bool, error) {
	if once == nil {
		return nil, false, nil
	}
	prior, found, err := c.store.RunToken(cluster, once.token, c.now())
	if err != nil || !found {
		return nil, false, err
	}
	out, err := c.repeated(cluster, once, prior)
	return out, true, err
}

// createTasks records a RunTask's or StartTask's tasks in one transaction,
// with the RunTask's client token and failures when it has one; when
// another RunTask recorded the token first, nothing is recorded and the
// error is an *repeatedRunError.
func (c *Controller) createTasks(cluster string, once *runOnce, records []store.Task, failures []api.Failure) error {
	if once == nil {
		return c.store.CreateTasks(records)
	}
	rt := store.RunToken{Request: once.request, UsedAt: c.now().UTC()}
	if len(failures) > 0 {
		rt.Failures, _ = json.Marshal(failures)
	}
	prior, err := c.store.CreateTasksOnce(cluster, once.token, rt, records)
	if errors.Is(err, store.ErrTokenUsed) {
		return &repeatedRunError{prior: prior}
	}
	return err
}
