package controller_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
)

// hostileRequest is one request berth server must refuse with a 4xx in
// ECS's shape, changing nothing.
type hostileRequest struct {
	name        string
	method      string // POST when empty
	contentType string // api.ContentType when empty; "-" for none
	encoding    string // Content-Encoding
	target      string // X-Amz-Target; "-" for none
	body        []byte
}

// The slow clients' timeouts: short, so the slowloris requests end soon;
// the server's config sets them, the test waits on the answers only.
const (
	hostileReadHeaderTimeout = 300 * time.Millisecond
	hostileReadTimeout       = time.Second
)

// At least 1,000 malformed and hostile requests against a real berth server
// (its HTTP listener, a controller and its store, the state of a cluster
// with an instance, a definition and a task): wrong types in every member
// of every operation, unknown members, broken JSON, deep nesting, huge
// bodies, wrong targets, methods and content types, values ECS refuses,
// and slowloris clients that stall or trickle their headers and bodies.
// Each gets a 4xx in ECS's shape (or, for a client too slow to finish its
// headers, a closed connection), never a 5xx; the server still serves; its
// goroutines settle back to what they were; the store holds what it held.
func TestHostileRequestsAgainstARealServerChangeNothing(t *testing.T) {
	dir := t.TempDir()
	var ctl *controller.Controller
	srv, err := server.Start(context.Background(), server.Config{
		Listen:            "127.0.0.1:0",
		StateDir:          dir,
		ReadHeaderTimeout: hostileReadHeaderTimeout,
		ReadTimeout:       hostileReadTimeout,
		NewAPI: func(st *store.Store) http.Handler {
			mux := api.NewMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctl = controller.New(st, controller.Options{})
			ctl.Register(mux)
			return mux
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopServer(t, srv); ctl.Close() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	url := "http://" + srv.Addr() + "/"

	// The state the requests try to spoil.
	instance := hostileSetup(t, client, url)
	client.CloseIdleConnections()
	before := settledGoroutines()
	stateBefore := storeContents(t, filepath.Join(dir, "state.db"))

	requests := append(structuralRequests(t, ctl), semanticRequests(instance)...)
	if len(requests) < 1000 {
		t.Fatalf("only %d hostile requests were made", len(requests))
	}
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	work := make(chan hostileRequest)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if problem := sendHostile(client, url, r); problem != "" {
					fail("%s: %s", r.name, problem)
				}
			}
		}()
	}
	// The slow clients come at the same time as the rest.
	slow := slowlorisClients(srv.Addr())
	for _, r := range requests {
		work <- r
	}
	close(work)
	wg.Wait()
	for _, problem := range slow() {
		fail("%s", problem)
	}
	raw := rawRequests()
	for _, r := range raw {
		if problem := sendRaw(srv.Addr(), r); problem != "" {
			fail("%s: %s", r.name, problem)
		}
	}
	for i, f := range failures {
		if i == 30 {
			t.Errorf("… and %d more", len(failures)-30)
			break
		}
		t.Error(f)
	}
	t.Logf("%d requests, %d sent as raw bytes and %d slow clients", len(requests), len(raw), slowClients)

	// The server still serves, and nothing it holds changed.
	if resp, err := client.Get("http://" + srv.Addr() + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz after the hostile requests: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if status, body := postTo(t, client, url, "ListClusters", `{}`); status != 200 || !strings.Contains(body, "cluster/class") {
		t.Errorf("ListClusters after the hostile requests: %d %s", status, body)
	}
	client.CloseIdleConnections()
	if after := storeContents(t, filepath.Join(dir, "state.db")); !reflect.DeepEqual(stateBefore, after) {
		for k, v := range after {
			if stateBefore[k] != v {
				t.Errorf("the store changed: %s is now %.300s", k, v)
			}
		}
		for k := range stateBefore {
			if _, ok := after[k]; !ok {
				t.Errorf("the store lost %s", k)
			}
		}
	}
	waitForGoroutinesBelow(t, before)
}

// hostileSetup makes a cluster "class" with an instance, a definition and
// a stopped task (the server has no engine, so the task fails to start),
// and returns the instance's ARN.
func hostileSetup(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	mustPost := func(op, body string) string {
		status, answer := postTo(t, client, url, op, body)
		if status != 200 {
			t.Fatalf("%s: %d %s", op, status, answer)
		}
		return answer
	}
	mustPost("CreateCluster", `{"clusterName":"class","tags":[{"key":"team","value":"a"}]}`)
	var reg struct {
		ContainerInstance struct{ ContainerInstanceArn string }
	}
	json.Unmarshal([]byte(mustPost("RegisterContainerInstance", `{"cluster":"class","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":1024},{"name":"MEMORY","type":"INTEGER","integerValue":512}]}`)), &reg)
	mustPost("RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"portMappings":[{"containerPort":80,"hostPort":80}]}]}`)
	mustPost("RegisterTaskDefinition", `{"family":"vpc","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"berth/demo"}]}`)
	var run struct{ Tasks []struct{ TaskArn string } }
	json.Unmarshal([]byte(mustPost("RunTask", `{"cluster":"class","taskDefinition":"web"}`)), &run)
	if len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v", run)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(mustPost("DescribeTasks", `{"cluster":"class","tasks":["`+run.Tasks[0].TaskArn+`"]}`), `"lastStatus":"STOPPED"`) {
		if time.Now().After(deadline) {
			t.Fatal("the task that cannot start did not stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return reg.ContainerInstance.ContainerInstanceArn
}

func postTo(t *testing.T, client *http.Client, url, op, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", api.ContentType)
	req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// structuralRequests are, for every operation served, bodies that are not
// its input: broken JSON, other JSON values, deep nesting, a member it
// lacks, each member with a value of the wrong type, a member twice, a
// body over the limit; and the same operation asked for the wrong way.
func structuralRequests(t *testing.T, ctl *controller.Controller) []hostileRequest {
	broken := []string{`{`, `{"`, `{"a":}`, `[`, `}`, `{"a":1,}`, `nul`, `{"a":"\x"}`, "\xff\xfe{}", `{'a':1}`, `{"a" 1}`, `{}}`, "{\"a\":\"\x01\"}", `{"a":NaN}`,
		`[]`, `"cluster"`, `1`, `true`, `null`,
		`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, strings.Repeat(`{"a":`, 50000),
		`{"bogusMember":1}`}
	var out []hostileRequest
	for _, op := range controller.Operations {
		method := reflect.ValueOf(ctl).MethodByName(op)
		if !method.IsValid() {
			t.Fatalf("the controller has no method %s", op)
		}
		in := method.Type().In(1).Elem()
		target := api.TargetPrefix + "." + op
		for i, body := range broken {
			out = append(out, hostileRequest{name: fmt.Sprintf("%s broken body %d", op, i), target: target, body: []byte(body)})
		}
		for _, f := range reflect.VisibleFields(in) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			for _, bad := range wrongJSON(f.Type) {
				out = append(out, hostileRequest{name: fmt.Sprintf("%s %s as %s", op, name, bad), target: target, body: []byte(`{"` + name + `":` + bad + `}`)})
			}
			out = append(out, hostileRequest{name: fmt.Sprintf("%s %s in the wrong case", op, name), target: target,
				body: []byte(`{"` + strings.ToUpper(name[:1]) + name[1:] + `":null}`)})
		}
		out = append(out,
			hostileRequest{name: op + " body over the limit", target: target, body: append(append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 2*api.MaxBodySize)...), `"}`...)},
			hostileRequest{name: op + " text/plain", target: target, contentType: "text/plain", body: []byte(`{}`)},
			hostileRequest{name: op + " no content type", target: target, contentType: "-", body: []byte(`{}`)},
			hostileRequest{name: op + " gzip", target: target, encoding: "gzip", body: []byte("\x1f\x8b\x08\x00")},
			hostileRequest{name: op + " GET", target: target, method: http.MethodGet},
			hostileRequest{name: op + " PUT", target: target, method: http.MethodPut, body: []byte(`{}`)},
			hostileRequest{name: op + " another version's target", target: "AmazonEC2ContainerServiceV20141114." + op, body: []byte(`{}`)},
			hostileRequest{name: op + " in lower case", target: api.TargetPrefix + "." + strings.ToLower(op), body: []byte(`{}`)},
			hostileRequest{name: op + " without a target", target: "-", body: []byte(`{}`)},
		)
	}
	return out
}

// wrongJSON are values of JSON types other than the one a member of type
// typ takes.
func wrongJSON(typ reflect.Type) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == reflect.TypeFor[api.Timestamp]() {
		return []string{`"yesterday"`, `{}`}
	}
	switch typ.Kind() {
	case reflect.String:
		return []string{`12345`, `{}`, `["a"]`}
	case reflect.Bool:
		return []string{`"true"`, `0`}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return []string{`"1"`, `1.5`, `99999999999999999999999`}
	case reflect.Float64:
		return []string{`"1"`, `[]`}
	case reflect.Slice:
		return []string{`{}`, `"a"`, `[{"x":[[[[]]]]}]`}
	case reflect.Map:
		return []string{`[]`, `"a"`}
	case reflect.Struct:
		return []string{`[]`, `1`, `{"bogusMember":1}`}
	}
	return []string{`{}`}
}

// semanticRequests are well-formed requests whose values ECS refuses,
// against the state hostileSetup made.
func semanticRequests(instance string) []hostileRequest {
	long := strings.Repeat("x", 100000)
	task := api.TargetPrefix + "."
	bodies := map[string][]string{
		"CreateCluster": {`{"clusterName":"a b"}`, `{"clusterName":"` + long + `"}`, `{"clusterName":"x","tags":[{"key":"aws:x","value":"y"}]}`,
			`{"clusterName":"x","settings":[{"name":"bogus","value":"enabled"}]}`, `{"clusterName":"x\u0000"}`},
		"DeleteCluster": {`{"cluster":"class"}`, `{"cluster":"nope"}`, `{"cluster":"arn:aws:ecs:us-east-1:000000000000:cluster/"}`, `{"cluster":"` + long + `"}`},
		"RegisterTaskDefinition": {`{"family":"x","containerDefinitions":[]}`, `{"family":"` + long + `","containerDefinitions":[{"name":"a","image":"b","memory":4}]}`,
			`{"family":"x","containerDefinitions":[{"name":"a","image":"b","memory":-1}]}`, `{"family":"x","containerDefinitions":[{"name":"a","image":"b","memory":64}],"cpu":"lots"}`},
		"DeregisterTaskDefinition": {`{"taskDefinition":"web"}`, `{"taskDefinition":"web:99"}`, `{"taskDefinition":"web:-1"}`, `{"taskDefinition":"` + long + `"}`},
		"DescribeTaskDefinition":   {`{"taskDefinition":"nope"}`, `{"taskDefinition":"web:0"}`},
		"RegisterContainerInstance": {`{"cluster":"nope"}`, `{"cluster":"class","totalResources":[{"name":"CPU","type":"INTEGER","integerValue":-1}]}`,
			`{"cluster":"class","attributes":[{"name":"ecs.instance-type","value":"z9.huge"}]}`, `{"cluster":"class","containerInstanceArn":"` + strings.Replace(instance, "/class/", "/other/", 1) + `"}`},
		"DeregisterContainerInstance":   {`{"cluster":"class","containerInstance":"` + strings.Repeat("0", 32) + `"}`, `{"cluster":"class","containerInstance":"nope"}`},
		"UpdateContainerInstancesState": {`{"cluster":"class","containerInstances":["` + instance + `"],"status":"BOGUS"}`, `{"cluster":"class","containerInstances":[],"status":"DRAINING"}`},
		"PutAttributes": {`{"cluster":"class","attributes":[{"name":"ecs.os-type","value":"windows","targetId":"` + instance + `"}]}`,
			`{"cluster":"class","attributes":[{"name":"a b","value":"1","targetId":"` + instance + `"}]}`, `{"cluster":"class","attributes":[]}`},
		"DeleteAttributes": {`{"cluster":"class","attributes":[{"name":"ecs.os-type","targetId":"` + instance + `"}]}`},
		"RunTask": {`{"cluster":"class","taskDefinition":"web","count":11}`, `{"cluster":"class","taskDefinition":"web","count":0}`, `{"cluster":"class","taskDefinition":"web","count":-5}`,
			`{"cluster":"class","taskDefinition":"nope"}`, `{"cluster":"nope","taskDefinition":"web"}`, `{"taskDefinition":"nope"}`, `{"cluster":"class","taskDefinition":"web","launchType":"MOON"}`,
			`{"cluster":"class","taskDefinition":"vpc","launchType":"FARGATE"}`, `{"cluster":"class","taskDefinition":"web","placementConstraints":[{"type":"memberOf","expression":"(((("}]}`,
			`{"cluster":"class","taskDefinition":"web","startedBy":"` + long + `"}`, `{"cluster":"class","taskDefinition":"web","tags":[{"key":"aws:a","value":"b"}]}`,
			`{"cluster":"class","taskDefinition":"web","propagateTags":"SERVICE"}`, `{"cluster":"class","taskDefinition":"web","overrides":{"containerOverrides":[{"name":"db"}]}}`},
		"StartTask": {`{"cluster":"class","taskDefinition":"web","containerInstances":[]}`, `{"cluster":"class","taskDefinition":"web","containerInstances":["nope"]}`,
			`{"cluster":"nope","taskDefinition":"web","containerInstances":["` + instance + `"]}`, `{"taskDefinition":"web","containerInstances":["` + instance + `"]}`,
			`{"cluster":"class","taskDefinition":"web","containerInstances":["` + instance + `"],"referenceId":"` + long + `"}`,
			`{"cluster":"class","taskDefinition":"vpc","containerInstances":["` + instance + `"]}`},
		"StopTask":      {`{"cluster":"class","task":"` + strings.Repeat("0", 32) + `"}`, `{"cluster":"class","task":"nope"}`, `{"cluster":"nope","task":"` + strings.Repeat("0", 32) + `"}`},
		"DescribeTasks": {`{"cluster":"class","tasks":[]}`, `{"cluster":"class","tasks":["nope"]}`},
		"ListTasks":     {`{"cluster":"class","desiredStatus":"BOGUS"}`, `{"cluster":"class","nextToken":"@@@"}`, `{"cluster":"class","maxResults":0}`},
		"TagResource": {`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/class","tags":[{"key":"aws:x","value":"y"}]}`,
			`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/nope","tags":[{"key":"x","value":"y"}]}`, `{"resourceArn":"` + long + `","tags":[]}`},
		"UntagResource": {`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/nope","tagKeys":["x"]}`},
	}
	var out []hostileRequest
	for op, list := range bodies {
		for i, body := range list {
			out = append(out, hostileRequest{name: fmt.Sprintf("%s value %d", op, i), target: task + op, body: []byte(body)})
		}
	}
	slices.SortFunc(out, func(a, b hostileRequest) int { return strings.Compare(a.name, b.name) })
	return out
}

// sendHostile sends r and says what is wrong with the answer ("" when it
// is a 4xx in ECS's shape).
func sendHostile(client *http.Client, url string, r hostileRequest) string {
	method := r.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(r.body))
	if err != nil {
		return err.Error()
	}
	switch r.contentType {
	case "":
		req.Header.Set("Content-Type", api.ContentType)
	case "-":
	default:
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.encoding != "" {
		req.Header.Set("Content-Encoding", r.encoding)
	}
	if r.target != "-" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "no answer: " + err.Error()
	}
	defer resp.Body.Close()
	return ecsShaped4xx(resp)
}

// ecsShaped4xx says what keeps an answer from being a 4xx in ECS's shape.
func ecsShaped4xx(resp *http.Response) string {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "reading the answer: " + err.Error()
	}
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		return fmt.Sprintf("status %d: %.300s", resp.StatusCode, data)
	}
	var body struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &body); err != nil || body.Type == "" || body.Message == "" {
		return fmt.Sprintf("answer %.300q is not ECS's error shape", data)
	}
	if resp.Header.Get("Content-Type") != api.ContentType || resp.Header.Get("X-Amzn-Errortype") != body.Type || resp.Header.Get("X-Amzn-Requestid") == "" {
		return fmt.Sprintf("headers %v do not go with %s", resp.Header, body.Type)
	}
	return ""
}

// slowClients is how many slowloris clients slowlorisClients starts.
const slowClients = 40

// slowlorisClients starts clients that stall or trickle their headers or
// their bodies; the returned func waits for each to be cut off and says
// what went wrong. A client that never finished its headers is dropped
// without an answer (as net/http does) or answered with a 4xx; one that
// sent its headers gets ECS's SerializationException.
func slowlorisClients(addr string) func() []string {
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	headers := "POST / HTTP/1.1\r\nHost: berth\r\nContent-Type: " + api.ContentType + "\r\nX-Amz-Target: " + api.TargetPrefix + ".RunTask\r\nContent-Length: 4096\r\n\r\n"
	kinds := []struct {
		name          string
		prefix        string // sent at once
		trickle       bool   // then a byte at a time, until cut off
		headersWhole  bool
		wantAnswerNow bool
	}{
		{name: "stalled headers", prefix: headers[:40]},
		{name: "trickled headers", prefix: headers[:10], trickle: true},
		{name: "stalled body", prefix: headers + `{"taskDefinition":`, headersWhole: true},
		{name: "trickled body", prefix: headers + `{"taskDefinition":"`, trickle: true, headersWhole: true},
	}
	for i := range slowClients {
		kind := kinds[i%len(kinds)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if problem := slowClient(addr, kind.prefix, kind.trickle, kind.headersWhole); problem != "" {
				mu.Lock()
				problems = append(problems, kind.name+": "+problem)
				mu.Unlock()
			}
		}()
	}
	return func() []string {
		wg.Wait()
		return problems
	}
}

func slowClient(addr, prefix string, trickle, headersWhole bool) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	// A guard against a server that never cuts the client off.
	conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(conn, prefix); err != nil {
		return err.Error()
	}
	done := make(chan struct{})
	defer close(done)
	if trickle {
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			}
		}()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err != nil {
		if headersWhole {
			return "no answer to a request whose headers were whole: " + err.Error()
		}
		// Dropped before its headers were read: the server may close the
		// connection on a client still writing, which then sees a reset.
		return ""
	}
	return ecsShaped4xx(resp)
}

// rawRequests are requests net/http itself cannot read as HTTP, sent as
// bytes: each gets a 4xx in ECS's shape.
func rawRequests() []hostileRequest {
	head := "Content-Type: " + api.ContentType + "\r\nX-Amz-Target: " + api.TargetPrefix + ".ListClusters\r\n"
	return []hostileRequest{
		{name: "headers over the limit", body: []byte("POST / HTTP/1.1\r\nHost: berth\r\nX-Big: " + strings.Repeat("a", 128<<10) + "\r\n\r\n")},
		{name: "an unsupported Transfer-Encoding", body: []byte("POST / HTTP/1.1\r\nHost: berth\r\n" + head + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")},
		{name: "a garbage request line", body: []byte("GARBAGE\r\n\r\n")},
		{name: "no Host header", body: []byte("POST / HTTP/1.1\r\n" + head + "Content-Length: 2\r\n\r\n{}")},
		{name: "two Content-Lengths", body: []byte("POST / HTTP/1.1\r\nHost: berth\r\n" + head + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}")},
		{name: "a negative Content-Length", body: []byte("POST / HTTP/1.1\r\nHost: berth\r\n" + head + "Content-Length: -2\r\n\r\n{}")},
		{name: "a header without a colon", body: []byte("POST / HTTP/1.1\r\nHost: berth\r\nNoColon\r\n\r\n")},
		{name: "HTTP/9.9", body: []byte("POST / HTTP/9.9\r\nHost: berth\r\n\r\n")},
	}
}

// sendRaw sends r's bytes as they are and says what is wrong with the
// answer.
func sendRaw(addr string, r hostileRequest) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	go conn.Write(r.body) // the server may answer before it has read it all
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "no answer: " + err.Error()
	}
	defer resp.Body.Close()
	return ecsShaped4xx(resp)
}

// storeContents reads every key and value of a copy of the store file (the
// server holds the file's lock), by bucket.
func storeContents(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(cp, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"/"+string(k)] = string(v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// settledGoroutines is the number of goroutines once it stops falling:
// connections just closed end their goroutines a moment later.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 100 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return n
		}
		n = m
	}
	return n
}

// waitForGoroutinesBelow fails when more goroutines than before are left
// once the connections have closed. The wait bounds a hang; it does not
// measure speed.
func waitForGoroutinesBelow(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}
