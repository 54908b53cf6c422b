package controller_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/demo"
	"github.com/berthdev/berth/internal/testenv"
)

// berthProcess is a `berth server` process of the built binary, which a
// test stops as a person or a crash would: SIGTERM or SIGKILL.
type berthProcess struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	exited chan error

	mu  sync.Mutex
	out strings.Builder // its standard output and error
}

// startBerthProcess starts `berth server` on a free loopback port over the
// state directory dir, with flags more, and waits until it listens. One
// still running when the test ends is killed.
func startBerthProcess(t *testing.T, dir string, more ...string) *berthProcess {
	t.Helper()
	bin := testenv.EnsureImages(t)
	p := &berthProcess{t: t, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", dir}, more...)...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if _, rest, ok := strings.Cut(line, "listening on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				urls <- url
			}
		}
		p.exited <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.stop(syscall.SIGTERM)
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.exited:
		t.Fatalf("berth server exited before listening: %v\n%s", err, p.output())
	case <-time.After(time.Minute):
		t.Fatalf("berth server said nowhere where it listens\n%s", p.output())
	}
	return p
}

func (p *berthProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends the process sig and waits for it to end.
func (p *berthProcess) stop(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal berth server: %v", err)
	}
	select {
	case err := <-p.exited:
		if sig == syscall.SIGTERM && err != nil {
			p.t.Errorf("berth server exited with %v after SIGTERM\n%s", err, p.output())
		}
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		p.t.Fatalf("berth server did not end on %v\n%s", sig, p.output())
	}
}

// client is the AWS SDK's ECS client of the process.
func (p *berthProcess) client() *ecs.Client { return clientAt(p.t, p.url) }

// taskCluster makes a cluster of its own on the process, named from
// prefix, whose containers, networks and volumes are removed from the
// engine when the test ends, whatever happened.
func taskCluster(t *testing.T, c *ecs.Client, prefix string) string {
	t.Helper()
	cluster := prefix + "-" + api.NewID()[:8]
	removeClusterWhenDone(t, cluster)
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	return cluster
}

// removeClusterWhenDone removes the containers, networks and volumes of
// cluster from the engine when the test ends, whatever happened.
func removeClusterWhenDone(t *testing.T, cluster string) {
	t.Helper()
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
}

// describeDemo GETs the demo server's /json page, which it fills with what
// its container reads at its task metadata endpoint at that moment.
func describeDemo(t *testing.T, url string) demo.Description {
	t.Helper()
	getWhenListening(t, url)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page demo.Description
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return page
}

// A recovered task's container reads its task metadata endpoint at the URL
// it was started with, after berth server stops cleanly (SIGTERM) and after
// it is killed (SIGKILL): the next server's agent listens at the same
// address and port, which the store keeps.
func TestTheTaskMetadataEndpointAnswersAtTheSameURLAfterTheServerRestarts(t *testing.T) {
	dir := t.TempDir()
	p := startBerthProcess(t, dir, "--cleanup-wait", "1s")
	c := p.client()
	ctx := context.Background()
	cluster := taskCluster(t, c, "metadata")
	registerInstance(t, c, sized(cluster))
	register(t, c, &ecs.RegisterTaskDefinitionInput{Family: aws.String("reader"), ContainerDefinitions: []types.ContainerDefinition{{
		Name: aws.String("web"), Image: aws.String("berth/demo:latest"), Memory: aws.Int32(64), StopTimeout: aws.Int32(2),
		Command: []string{"serve", "--port", "8080"}, PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
	}}})
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("reader")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v %v", run, err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	running := waitTask(t, c, cluster, arn, "RUNNING")
	b := running.Containers[0].NetworkBindings[0]
	page := fmt.Sprintf("http://%s:%d/json", aws.ToString(b.BindIP), aws.ToInt32(b.HostPort))

	first := describeDemo(t, page)
	uriV4, uriV3 := first.Environment[agent.EnvMetadataURIV4], first.Environment[agent.EnvMetadataURIV3]
	if uriV4 == "" || uriV3 == "" {
		t.Fatalf("the container has no metadata URIs; its environment: %v", first.Environment)
	}
	for _, restart := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		p.stop(restart)
		p = startBerthProcess(t, dir, "--cleanup-wait", "1s")
		c = p.client()
		waitTask(t, c, cluster, arn, "RUNNING")
		// The server answers the API before its agents have started:
		// the endpoint comes up with the instance's agent.
		md := describeDemo(t, page).Metadata
		for deadline := time.Now().Add(30 * time.Second); md != nil && md.Error != "" && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			md = describeDemo(t, page).Metadata
		}
		switch {
		case md == nil:
			t.Fatalf("after %v: the container shows no metadata", restart)
		case md.URI != uriV4:
			t.Errorf("after %v: the container's URI is %s, was %s", restart, md.URI, uriV4)
		case md.Error != "":
			t.Errorf("after %v: the container could not read its metadata at %s: %s\n%s", restart, md.URI, md.Error, p.output())
		case md.Task["TaskARN"] != arn || md.Task["KnownStatus"] != "RUNNING" || md.Container["Name"] != "web":
			t.Errorf("after %v: the container read task %v, container %v", restart, md.Task, md.Container)
		}
		var v3 map[string]any
		getJSON(t, uriV3+"/task", &v3)
		if v3["TaskARN"] != arn {
			t.Errorf("after %v: %s/task answers %v", restart, uriV3, v3)
		}
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, arn, "STOPPED")
}

// getJSON GETs url and decodes its JSON answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
