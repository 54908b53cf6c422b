package cost

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Figures worked out by hand from the default table.
func TestFargateIsChargedByTheTasksSizeAndTime(t *testing.T) {
	p := Default()
	tests := []struct {
		name string
		task FargateTask
		want float64
	}{
		// 90 s × (0.25 vCPU × 0.04048 + 0.5 GB × 0.004445) per hour
		{"0.25 vCPU and 512 MiB for 90 s", FargateTask{CPU: 256, MemoryMiB: 512, Start: t0, End: t0.Add(90 * time.Second)}, 0.025 * (0.25*0.04048 + 0.5*0.004445)},
		{"a task of 10 s is billed a minute", FargateTask{CPU: 256, MemoryMiB: 512, Start: t0, End: t0.Add(10 * time.Second)}, (60.0 / 3600) * (0.25*0.04048 + 0.5*0.004445)},
		{"part of a second is billed as a whole one", FargateTask{CPU: 1024, MemoryMiB: 2048, Start: t0, End: t0.Add(90*time.Second + time.Millisecond)}, (91.0 / 3600) * (0.04048 + 2*0.004445)},
		{"storage beyond 20 GB", FargateTask{CPU: 1024, MemoryMiB: 2048, StorageGB: 50, Start: t0, End: t0.Add(time.Hour)}, 0.04048 + 2*0.004445 + 30*0.000111},
		{"on Spot", FargateTask{CPU: 1024, MemoryMiB: 2048, Spot: true, Start: t0, End: t0.Add(time.Hour)}, 0.012144 + 2*0.0013335},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Fargate(tt.task); !near(got, tt.want) {
				t.Errorf("$%.10f, want $%.10f", got, tt.want)
			}
		})
	}
}

// One instance for an hour costs its hourly price, whatever it runs: the
// two tasks on it add nothing.
func TestEC2IsChargedByTheInstancesTimeBusyOrIdle(t *testing.T) {
	p := Default()
	got, err := p.EC2(Instance{InstanceType: "m5.large", Start: t0, End: t0.Add(time.Hour)})
	if err != nil || !near(got, 0.096) {
		t.Errorf("an m5.large for an hour: $%v, %v; want $0.096", got, err)
	}
	if got, _ := p.EC2(Instance{InstanceType: "t3.medium", Start: t0, End: t0.Add(20 * time.Second)}); !near(got, 0.0416/60) {
		t.Errorf("a t3.medium for 20 s: $%v, want a minute's $%v", got, 0.0416/60)
	}
	if _, err := p.EC2(Instance{InstanceType: "p4d.24xlarge", Start: t0, End: t0.Add(time.Hour)}); !errors.Is(err, ErrUnknownInstanceType) || !strings.Contains(err.Error(), "m5.large") {
		t.Errorf("an instance type without a price: %v", err)
	}
}

func TestAPriceTableOverridesTheDefaults(t *testing.T) {
	p, err := Load(strings.NewReader(`{"region": "eu-west-1", "fargateVCPUHour": 0.04456, "ec2Hour": {"m5.large": 0.107, "m6i.large": 0.107}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "eu-west-1" || p.FargateVCPUHour != 0.04456 || p.FargateGBHour != Default().FargateGBHour ||
		p.EC2Hour["m5.large"] != 0.107 || p.EC2Hour["m6i.large"] != 0.107 || p.EC2Hour["c5.large"] != 0.085 {
		t.Errorf("overridden table: %+v", p)
	}
}

// A table that is not one is refused, saying what is wrong where: the
// member at fault and what it wants, or the line and column.
func TestABadPriceTableIsRefusedNamingTheMember(t *testing.T) {
	for _, tt := range []struct{ table, want string }{
		{``, "price table: empty; want a JSON object of prices (region, takenOn, source, fargateVCPUHour, fargateGBHour, fargateSpotVCPUHour, fargateSpotGBHour, fargateStorageGBHour, ec2Hour)"},
		{`[]`, "price table: want a JSON object of prices, got a JSON array"},
		{`{"fargateCPUHour": 1}`, `price table: unknown member "fargateCPUHour"; a table has region, takenOn, source, fargateVCPUHour, fargateGBHour, fargateSpotVCPUHour, fargateSpotGBHour, fargateStorageGBHour, ec2Hour`},
		{`{"fargateGBHour": "0.004"}`, "price table: fargateGBHour: want a number (US dollars), got a JSON string"},
		{`{"fargateGBHour": 1e400}`, "price table: fargateGBHour: 1e400 is out of range"},
		{`{"region": 3}`, "price table: region: want a string, got a JSON number"},
		{`{"ec2Hour": [0.096]}`, `price table: ec2Hour: want instance types and their hourly prices in US dollars, as {"m5.large": 0.096}, got a JSON array`},
		{`{"fargateGBHour": -1}`, "price table: fargateGBHour must be a price of zero or more; got -1"},
		{`{"ec2Hour": {"m5.large": -0.1}}`, "price table: ec2Hour.m5.large must be a price of zero or more; got -0.1"},
		{"{\n  \"fargateGBHour\": 1\n  \"ec2Hour\": {}\n}", `price table: line 3, column 3: not JSON: invalid character '"' after object key:value pair`},
		{`{"fargateGBHour": 1`, "price table: not JSON: it ends before the table does"},
		{`{"fargateGBHour": 1} {}`, "price table: line 1, column 22: more after the table's closing brace"},
	} {
		if _, err := Load(strings.NewReader(tt.table)); err == nil || err.Error() != tt.want {
			t.Errorf("Load(%s):\n got %v\nwant %s", tt.table, err, tt.want)
		}
	}
}

// Fargate Spot has no list price to take: the default table assumes AWS's
// full "up to 70%" off the on-demand rates, and its source says so, and
// that a table of one's own replaces it.
func TestTheDefaultSpotRatesAreTheAssumedDiscountAndSaySo(t *testing.T) {
	p := Default()
	if !near(p.FargateSpotVCPUHour, 0.3*p.FargateVCPUHour) || !near(p.FargateSpotGBHour, 0.3*p.FargateGBHour) {
		t.Errorf("Spot $%v a vCPU-hour and $%v a GB-hour, want 30%% of on-demand's $%v and $%v", p.FargateSpotVCPUHour, p.FargateSpotGBHour, p.FargateVCPUHour, p.FargateGBHour)
	}
	for _, says := range []string{"Fargate Spot: assumed", "70%", "--prices"} {
		if !strings.Contains(p.Source, says) {
			t.Errorf("the source does not say %q: %s", says, p.Source)
		}
	}
}

// The hourly rates are an hour of each rule, worked out by hand.
func TestHourlyRatesAreAnHourOfEachRule(t *testing.T) {
	p := Default()
	if got, want := p.FargateHourly(256, 512, false), 0.25*0.04048+0.5*0.004445; !near(got, want) {
		t.Errorf("0.25 vCPU, 512 MiB on FARGATE: $%v an hour, want $%v", got, want)
	}
	if got, want := p.FargateHourly(1024, 2048, true), 0.012144+2*0.0013335; !near(got, want) {
		t.Errorf("1 vCPU, 2 GiB on FARGATE_SPOT: $%v an hour, want $%v", got, want)
	}
	if got, err := p.EC2Hourly("t3.medium"); err != nil || !near(got, 0.0416) {
		t.Errorf("a t3.medium: $%v an hour, %v", got, err)
	}
	if _, err := p.EC2Hourly("local"); !errors.Is(err, ErrUnknownInstanceType) {
		t.Errorf("an instance type without a price: %v", err)
	}
}

// A bill sums each launch type's items by the same rules, and names the
// instance types it could not price rather than guess.
func TestABillSumsEachLaunchTypeAndNamesWhatItCannotPrice(t *testing.T) {
	p := Default()
	b := p.Bill(
		[]FargateTask{
			{CPU: 256, MemoryMiB: 512, Start: t0, End: t0.Add(90 * time.Second)},
			{CPU: 256, MemoryMiB: 512, Start: t0, End: t0.Add(10 * time.Second)}, // billed a minute
		},
		[]Instance{
			{InstanceType: "m5.large", Start: t0, End: t0.Add(time.Hour)},
			{InstanceType: "", Start: t0, End: t0.Add(time.Hour)},
			{InstanceType: "p4d.24xlarge", Start: t0, End: t0.Add(time.Hour)},
		})
	perHour := 0.25*0.04048 + 0.5*0.004445
	if b.Fargate.Items != 2 || b.Fargate.Billed != 150*time.Second || !near(b.Fargate.Dollars, 150.0/3600*perHour) {
		t.Errorf("Fargate: %+v, want 2 tasks, 150 s, $%v", b.Fargate, 150.0/3600*perHour)
	}
	if b.EC2.Items != 1 || b.EC2.Billed != time.Hour || !near(b.EC2.Dollars, 0.096) {
		t.Errorf("EC2: %+v, want 1 instance, an hour, $0.096", b.EC2)
	}
	if strings.Join(b.Unpriced, ",") != ",p4d.24xlarge" {
		t.Errorf("unpriced: %q", b.Unpriced)
	}
}
