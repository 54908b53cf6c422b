package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/cost"
)

// A --prices file that is no price table is refused before anything
// starts, by berth server and berth compare as by berth cost, with exit
// status 2 and a message naming the file and the member at fault.
// testdata/prices-usage-COMMAND-CASE.golden holds the command line, what
// berth prints on standard error and the exit status.
func TestPricesFlagsRefuseABadTableNamingTheMember(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"unknown-member": `{"fargateCPUHour": 0.04}`,
		"not-a-number":   `{"ec2Hour": {"m5.large": 0.096}, "fargateGBHour": "0.004445"}`,
		"negative":       `{"fargateSpotVCPUHour": -0.01}`,
		"not-json":       "{\n  \"region\": \"eu-west-1\"\n  \"takenOn\": \"2026-11\"\n}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commands := map[string][]string{
		// Nothing listens at the endpoint: a call would fail otherwise.
		"server":  {"server", "--state", filepath.Join(dir, "state"), "--listen", "127.0.0.1:0"},
		"compare": {"compare", filepath.Join("..", "..", "examples", "fargate-web.json"), "--endpoint", "http://127.0.0.1:1"},
	}
	for _, command := range []string{"server", "compare"} {
		for _, name := range []string{"missing", "unknown-member", "not-a-number", "negative", "not-json"} {
			t.Run(command+"-"+name, func(t *testing.T) {
				args := append(slices.Clone(commands[command]), "--prices", filepath.Join(dir, name+".json"))
				stdout, msg, code := executeRoot(args)
				if code != exitUsage {
					t.Errorf("exit status %d, want %d (usage): %s", code, exitUsage, msg)
				}
				if stdout != "" {
					t.Errorf("berth %s printed on standard output:\n%s", command, stdout)
				}
				if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
					t.Errorf("berth server made its state directory before refusing the table")
				}
				cmdline := strings.ReplaceAll("berth "+strings.Join(args, " "), dir, "DIR")
				got := fmt.Sprintf("$ %s\nberth: %s\nexit status %d\n", cmdline, strings.ReplaceAll(msg, dir, "DIR"), code)
				checkGolden(t, filepath.Join("testdata", "prices-usage-"+command+"-"+name+".golden"), got)
			})
		}
	}
}

// berth compare prices each way by the server's table, which /berth/v1/billing
// gives, unless --prices names one; then the server is not asked.
func TestComparePricesByTheServersTableOrTheOneGiven(t *testing.T) {
	mine := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(mine, []byte(`{"region": "eu-west-1", "takenOn": "2026-11", "source": "the class's own", "fargateVCPUHour": 0.04456, "fargateGBHour": 0.004865, "ec2Hour": {"t3.medium": 0.0456}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	servers := cost.Default()
	servers.Region, servers.TakenOn, servers.Source = "ap-southeast-2", "2026-10", "the server's --prices"
	servers.FargateVCPUHour, servers.FargateGBHour, servers.EC2Hour = 0.05056, 0.00553, map[string]float64{"t3.medium": 0.0528}
	for _, tt := range []struct {
		name           string
		prices         string
		fargate, ec2   float64
		want           pricesUsed
		asksForBilling bool
	}{
		// Two tasks of 0.25 vCPU and 0.5 GB; the one t3.medium.
		{"the server's table", "", 2 * (0.25*0.05056 + 0.5*0.00553), 0.0528, pricesUsed{"ap-southeast-2", "2026-10", "the server's --prices", ""}, true},
		{"--prices FILE", mine, 2 * (0.25*0.04456 + 0.5*0.004865), 0.0456, pricesUsed{"eu-west-1", "2026-11", "the class's own", mine}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCompare()
			f.billing = func(string) (*api.Billing, error) { return &api.Billing{Cluster: "default", Prices: &servers}, nil }
			opts := compareOpts("json")
			opts.prices = tt.prices
			var out, errOut bytes.Buffer
			if err := runCompare(context.Background(), nil, &out, &errOut, f, filepath.Join("..", "..", "examples", "fargate-web.json"), opts); err != nil {
				t.Fatalf("%v\n%s", err, errOut.String())
			}
			var got comparison
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Prices != tt.want {
				t.Errorf("prices %+v, want %+v", got.Prices, tt.want)
			}
			fargateSide, ec2Side := got.LaunchTypes[0], got.LaunchTypes[1]
			if fargateSide.CostPerHour == nil || *fargateSide.CostPerHour != round6(tt.fargate) || ec2Side.CostPerHour == nil || *ec2Side.CostPerHour != round6(tt.ec2) {
				t.Errorf("cost an hour: %v and %v, want %v and %v", fargateSide.CostPerHour, ec2Side.CostPerHour, round6(tt.fargate), round6(tt.ec2))
			}
			if asked := slices.Contains(f.calls, "Billing"); asked != tt.asksForBilling {
				t.Errorf("asked the server for its table: %v, want %v (calls %q)", asked, tt.asksForBilling, f.calls)
			}
		})
	}
}
