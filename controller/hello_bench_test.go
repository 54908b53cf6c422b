package controller_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/store"
)

// BenchmarkHelloReads is what an agent's Hello reads of its instance, the
// load of its registration and the tasks of its Welcome, with 10,000
// tasks of the cluster stored of which 10 are on the instance: walk, as
// it read them by walking every task of the cluster (store.Tasks with a
// filter and the store's load), and index, as it reads them now.
func BenchmarkHelloReads(b *testing.B) {
	st, at := benchStore(b)
	if _, err := st.RegisterContainerInstance(store.ContainerInstance{Cluster: "bench", ID: "mine",
		Registered: store.Resources{CPU: 2048, MemoryMiB: 4000}}, at); err != nil {
		b.Fatal(err)
	}
	const n, mine = 10_000, 10
	var tasks []store.Task
	for i := range n {
		id := fmt.Sprintf("%032x", i)
		instance := fmt.Sprintf("other-%d", i%100)
		if i%(n/mine) == 0 {
			instance = "mine"
		}
		body := fmt.Sprintf(`{"taskArn":"arn:aws:ecs:us-east-1:000000000000:task/bench/%s","lastStatus":"RUNNING","containers":[{"name":"web","runtimeId":"%s%s","note":"%s"}]}`,
			id, id, id, strings.Repeat("x", 1800))
		tasks = append(tasks, store.Task{Cluster: "bench", ID: id, Family: "web", LaunchType: "EC2", LastStatus: "RUNNING",
			DesiredStatus: "RUNNING", Instance: instance, Group: "family:web", CreatedAt: at, StatusSince: at,
			Holds: store.Resources{CPU: 100, MemoryMiB: 128, TCPPorts: []uint16{uint16(8000 + i%1000)}},
			Body:  []byte(body), Runtime: []byte(`{"cpu":100,"memory":128}`)})
	}
	for chunk := range slices.Chunk(tasks, 1000) {
		if err := st.CreateTasks(chunk); err != nil {
			b.Fatal(err)
		}
	}
	ctl := controller.New(st, controller.Options{UsageInterval: -1})
	defer ctl.Close()
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec, err := st.ContainerInstance("bench", "mine")
			if err != nil || rec.Load.Running != mine {
				b.Fatalf("load %+v, %v", rec.Load, err)
			}
			recs, err := st.Tasks("bench", func(t *store.Task) bool { return t.Instance == "mine" && t.LastStatus != "STOPPED" })
			if err != nil || len(recs) != mine {
				b.Fatalf("%d tasks, %v", len(recs), err)
			}
		}
	})
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			load, err := ctl.InstanceLoad("bench", "mine")
			if err != nil || load.Running != mine {
				b.Fatalf("load %+v, %v", load, err)
			}
			recs, err := ctl.InstanceTasks("bench", "mine")
			if err != nil || len(recs) != mine {
				b.Fatalf("%d tasks, %v", len(recs), err)
			}
		}
	})
}
