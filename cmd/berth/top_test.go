package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/cost"
)

// fakeTopServer answers berth's own endpoints for the cluster "class" as a
// server with two instances, an EC2 task on each (one not sampled yet) and
// a Fargate task would; its billing, for the cluster "priced", as a server
// started with a price table of its own (--prices) would; any other
// cluster is not found.
func fakeTopServer(t *testing.T) string {
	t.Helper()
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	top := api.Top{Cluster: "class", SampledAt: now.Add(-time.Second),
		Instances: []api.TopInstance{
			{ID: "4f7a1c2e9b0d4e6f8a1b2c3d4e5f6a7b", Status: "ACTIVE", Zone: "us-east-1a", InstanceType: "m5.large", RunningTasks: 1,
				RegisteredCPU: 2048, ReservedCPU: 1024, UsedCPU: 362.4, RegisteredMiB: 7680, ReservedMiB: 2048, UsedMiB: 512.6},
			{ID: "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", Status: "DRAINING", Zone: "us-east-1b", RunningTasks: 1,
				RegisteredCPU: 1024, ReservedCPU: 256, UsedCPU: 0, RegisteredMiB: 512, ReservedMiB: 128, UsedMiB: 30},
		},
		Tasks: []api.TopTask{
			{ID: "0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5", TaskDefinition: "busy:1", LaunchType: "EC2", Instance: "4f7a1c2e9b0d4e6f8a1b2c3d4e5f6a7b",
				ReservedCPU: 1024, UsedCPU: 362.4, ReservedMiB: 2048, UsedMiB: 512.6, Sampled: true},
			{ID: "1b2c3d4e5f6a47b8c9d0e1f2a3b4c5d6", TaskDefinition: "web:3", LaunchType: "EC2", Instance: "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f",
				ReservedCPU: 256, ReservedMiB: 128, UsedMiB: 30},
			{ID: "2c3d4e5f6a7b48c9d0e1f2a3b4c5d6e7", TaskDefinition: "web:3", LaunchType: "FARGATE",
				ReservedCPU: 256, UsedCPU: 300, ReservedMiB: 512, UsedMiB: 96, Sampled: true},
		},
		Fargate: api.FargateInUse{VCPUs: 0.25, VCPULimit: 6, MiB: 512},
	}
	billing := api.Billing{Cluster: "class", Now: now,
		FargateTasks: []api.BilledTask{
			// 90 s of 0.25 vCPU and 512 MiB, stopped.
			{ID: "3d4e5f6a7b8c49d0e1f2a3b4c5d6e7f8", CPU: 256, MemoryMiB: 512, Start: now.Add(-10 * time.Minute), End: now.Add(-10*time.Minute + 90*time.Second)},
			// A minute and a half of 1 vCPU and 2 GiB, running.
			{ID: "2c3d4e5f6a7b48c9d0e1f2a3b4c5d6e7", CPU: 1024, MemoryMiB: 2048, Start: now.Add(-90 * time.Second)},
		},
		Instances: []api.BilledInstance{
			// An m5.large for an hour, still registered.
			{ID: "4f7a1c2e9b0d4e6f8a1b2c3d4e5f6a7b", InstanceType: "m5.large", Start: now.Add(-time.Hour)},
			// A t3.micro for 20 s, billed a minute.
			{ID: "5e6f7a8b9c0d4e1f2a3b4c5d6e7f8a9b", InstanceType: "t3.micro", Start: now.Add(-2 * time.Hour), End: now.Add(-2*time.Hour + 20*time.Second)},
			// Registered by size: no price.
			{ID: "9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f", Start: now.Add(-time.Hour)},
		},
	}
	priced := billing
	priced.Cluster = "priced"
	table := cost.Default()
	table.Region, table.TakenOn, table.Source = "eu-west-1", "2026-11", "the server's --prices"
	table.FargateVCPUHour, table.FargateGBHour, table.EC2Hour = 0.04456, 0.004865, map[string]float64{"m5.large": 0.107, "t3.micro": 0.12}
	priced.Prices = &table
	answer := func(byCluster map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c := r.URL.Query().Get("cluster")
			v, ok := byCluster[c]
			if !ok {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"__type": "ClusterNotFoundException", "message": "cluster %s not found"}`, c)
				return
			}
			json.NewEncoder(w).Encode(v)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+api.PathTop, answer(map[string]any{"class": top}))
	mux.Handle("GET "+api.PathBilling, answer(map[string]any{"class": billing, "priced": priced}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// berth top --once draws one frame of plain text, bars and all; berth cost
// prices what the server bills by, with the server's table (berth's, or
// the one it was started with) or one given.
func TestTopAndCostPrintWhatTheServerSays(t *testing.T) {
	endpoint := fakeTopServer(t)
	prices := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(prices, []byte(`{"region": "eu-west-1", "takenOn": "2026-11", "source": "the class's own", "fargateVCPUHour": 0.04456, "ec2Hour": {"m5.large": 0.107}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	badPrices := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badPrices, []byte(`{"ec2Hour": {"m5.large": -1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"top-once", []string{"top", "--once", "--cluster", "class"}},
		{"top-missing-cluster", []string{"top", "--once", "--cluster", "nowhere"}},
		{"cost", []string{"cost", "--cluster", "class"}},
		{"cost-json", []string{"cost", "--cluster", "class", "-o", "json"}},
		{"cost-prices", []string{"cost", "--cluster", "class", "--prices", "PRICES"}},
		{"cost-server-prices", []string{"cost", "--cluster", "priced"}},
		{"cost-prices-over-the-servers", []string{"cost", "--cluster", "priced", "--prices", "PRICES"}},
		{"cost-bad-prices", []string{"cost", "--cluster", "class", "--prices", "BAD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.NewReplacer("PRICES", prices, "BAD", badPrices).Replace(a)
			}
			stdout, msg, code := executeRoot(append(args, "--endpoint", endpoint))
			got := fmt.Sprintf("$ berth %s\n%s", strings.Join(tt.args, " "), stdout)
			if msg != "" {
				got += "berth: " + strings.NewReplacer(prices, "PRICES", badPrices, "BAD").Replace(msg) + "\n"
			}
			got += fmt.Sprintf("exit status %d\n", code)
			checkGolden(t, filepath.Join("testdata", tt.name+".golden"), got)
		})
	}
}

// The bars: # used, = reserved beyond it, . free; a task that uses more
// than it reserves fills with #, and never past the end.
func TestBarsShowUsedAndReservedOfRegistered(t *testing.T) {
	tests := []struct {
		used                 float64
		reserved, registered int
		want                 string
	}{
		{0, 0, 2048, "[....................]"},
		{512, 1024, 2048, "[#####=====..........]"},
		{1024, 512, 2048, "[##########..........]"},
		{4096, 2048, 2048, "[####################]"},
		{0, 0, 0, "[                    ]"},
	}
	for _, tt := range tests {
		if got := bar(tt.used, tt.reserved, tt.registered); got != tt.want {
			t.Errorf("bar(%v, %d, %d) = %s, want %s", tt.used, tt.reserved, tt.registered, got, tt.want)
		}
	}
}
