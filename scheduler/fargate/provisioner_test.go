package fargate

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func subnet(id, az, cidr string) Subnet {
	return Subnet{ID: id, AvailabilityZone: az, CIDR: netip.MustParsePrefix(cidr)}
}

func threeZones() []Subnet {
	return []Subnet{
		subnet("subnet-a", "us-east-1a", "10.0.0.0/24"),
		subnet("subnet-b", "us-east-1b", "10.0.1.0/24"),
		subnet("subnet-c", "us-east-1c", "10.0.2.0/24"),
	}
}

func provisioner(t *testing.T, cfg Config) *Provisioner {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func task(n int) Request {
	return Request{TaskARN: fmt.Sprintf("arn:aws:ecs:us-east-1:123456789012:task/default/%032x", n), Group: "service:web", CPU: 256, MemoryMiB: 512}
}

func TestProvisionGivesEachTaskExactlyItsSizeAndItsOwnAddress(t *testing.T) {
	p := provisioner(t, Config{Subnets: threeZones()})
	seen := map[netip.Addr]bool{}
	for n := range 30 {
		req := task(n)
		req.CPU, req.MemoryMiB = 1024, 3072
		c, err := p.Provision(req)
		if err != nil {
			t.Fatal(err)
		}
		if c.CPU != 1024 || c.MemoryMiB != 3072 {
			t.Errorf("capacity %d CPU, %d MiB, want 1024, 3072", c.CPU, c.MemoryMiB)
		}
		sub := map[string]string{"subnet-a": "10.0.0.0/24", "subnet-b": "10.0.1.0/24", "subnet-c": "10.0.2.0/24"}[c.SubnetID]
		if !netip.MustParsePrefix(sub).Contains(c.PrivateIPv4) {
			t.Errorf("address %s is outside subnet %s (%s)", c.PrivateIPv4, c.SubnetID, sub)
		}
		if seen[c.PrivateIPv4] {
			t.Errorf("address %s given twice", c.PrivateIPv4)
		}
		seen[c.PrivateIPv4] = true
		if !strings.HasPrefix(c.ENI, "eni-") {
			t.Errorf("ENI %q", c.ENI)
		}
	}
	if u := p.Usage(); u.Tasks != 30 || u.VCPUs != 30 {
		t.Errorf("usage = %+v, want 30 tasks, 30 vCPUs", u)
	}
}

func TestProvisionSkipsTheAddressesAWSReserves(t *testing.T) {
	p := provisioner(t, Config{Subnets: []Subnet{subnet("subnet-tiny", "z", "10.9.0.0/28")}})
	var got []string
	for n := range 11 {
		c, err := p.Provision(task(n))
		if err != nil {
			t.Fatalf("task %d: %v", n, err)
		}
		got = append(got, c.PrivateIPv4.String())
	}
	// A /28 has 16 addresses; .0–.3 and .15 are AWS's.
	if got[0] != "10.9.0.4" || got[10] != "10.9.0.14" {
		t.Errorf("addresses %v, want 10.9.0.4 … 10.9.0.14", got)
	}
	_, err := p.Provision(task(11))
	var ce *CapacityError
	if !errors.As(err, &ce) || ce.Reason != ReasonENI || !errors.Is(err, ErrNoFreeAddresses) {
		t.Fatalf("12th task: error %v, want RESOURCE:ENI", err)
	}
	if !strings.Contains(ce.Detail, "There are not enough free addresses in subnet 'subnet-tiny'") {
		t.Errorf("detail %q", ce.Detail)
	}
	if _, ok := p.Release(task(3).TaskARN); !ok {
		t.Fatal("Release = false")
	}
	c, err := p.Provision(task(12))
	if err != nil || c.PrivateIPv4.String() != "10.9.0.7" {
		t.Errorf("after a release got %v, %v; want the released 10.9.0.7", c.PrivateIPv4, err)
	}
}

func TestProvisionSpreadsAGroupOverAvailabilityZones(t *testing.T) {
	p := provisioner(t, Config{Subnets: append(threeZones(), subnet("subnet-a2", "us-east-1a", "10.0.3.0/24"))})
	// Another group already crowds zone a; it must not skew this one.
	for n := range 5 {
		other := task(100 + n)
		other.Group = "service:other"
		other.Subnets = []string{"subnet-a"}
		if _, err := p.Provision(other); err != nil {
			t.Fatal(err)
		}
	}
	perZone := map[string]int{}
	for n := range 9 {
		c, err := p.Provision(task(n))
		if err != nil {
			t.Fatal(err)
		}
		perZone[c.AvailabilityZone]++
		lo, hi := 1<<30, 0
		for _, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
			lo, hi = min(lo, perZone[az]), max(hi, perZone[az])
		}
		if hi-lo > 1 {
			t.Fatalf("after %d tasks: per zone %v", n+1, perZone)
		}
	}
	if perZone["us-east-1a"] != 3 || perZone["us-east-1b"] != 3 || perZone["us-east-1c"] != 3 {
		t.Errorf("per zone %v, want 3 each", perZone)
	}
}

func TestProvisionUsesOnlyTheRequestedSubnets(t *testing.T) {
	p := provisioner(t, Config{Subnets: threeZones()})
	for n := range 4 {
		req := task(n)
		req.Subnets = []string{"subnet-b"}
		c, err := p.Provision(req)
		if err != nil || c.SubnetID != "subnet-b" {
			t.Fatalf("got %s, %v; want subnet-b", c.SubnetID, err)
		}
	}
}

func TestProvisionEnforcesTheVCPULimit(t *testing.T) {
	p := provisioner(t, Config{Subnets: threeZones(), VCPULimit: 2})
	big := task(1)
	big.CPU, big.MemoryMiB = 1024, 2048
	for n := range 2 {
		big.TaskARN = task(n).TaskARN
		if _, err := p.Provision(big); err != nil {
			t.Fatal(err)
		}
	}
	_, err := p.Provision(task(9))
	var ce *CapacityError
	if !errors.As(err, &ce) || ce.Reason != ReasonVCPULimit || !errors.Is(err, ErrVCPULimit) {
		t.Fatalf("error %v, want the vCPU limit", err)
	}
	if want := "the task needs 0.25 vCPU, 2 of the limit of 2 vCPUs are in use"; ce.Detail != want {
		t.Errorf("detail %q, want %q", ce.Detail, want)
	}
	p.Release(task(0).TaskARN)
	if _, err := p.Provision(task(9)); err != nil {
		t.Errorf("after a release: %v", err)
	}
}

func TestProvisionRejectsBadRequests(t *testing.T) {
	valid := func(cpu, mem int) bool { return cpu == 256 && mem == 512 }
	p := provisioner(t, Config{Subnets: threeZones(), ValidSize: valid})
	if _, err := p.Provision(task(1)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  Request
		want error
		msg  string
	}{
		{"no task ARN", Request{CPU: 256, MemoryMiB: 512}, ErrInvalidRequest, "task ARN"},
		{"no cpu", Request{TaskARN: "t", MemoryMiB: 512}, ErrInvalidRequest, "must be positive"},
		{"a size Fargate does not offer", Request{TaskARN: "t", CPU: 512, MemoryMiB: 512}, ErrInvalidRequest,
			"No Fargate configuration exists for given values: 512 CPU, 512 memory."},
		{"an unknown subnet", Request{TaskARN: "t", CPU: 256, MemoryMiB: 512, Subnets: []string{"subnet-zz"}}, ErrInvalidRequest, "subnet-zz"},
		{"a task that already has capacity", task(1), ErrAlreadyProvisioned, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Provision(tt.req)
			if !errors.Is(err, tt.want) || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Errorf("error %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestNewRejectsBadSubnets(t *testing.T) {
	tests := map[string][]Subnet{
		"no subnets":      nil,
		"an IPv6 prefix":  {subnet("s", "z", "2001:db8::/64")},
		"a /30":           {subnet("s", "z", "10.0.0.0/30")},
		"a /8":            {subnet("s", "z", "10.0.0.0/8")},
		"a duplicate ID":  {subnet("s", "z", "10.0.0.0/24"), subnet("s", "z", "10.0.1.0/24")},
		"overlapping":     {subnet("s1", "z", "10.0.0.0/16"), subnet("s2", "z", "10.0.1.0/24")},
		"no zone":         {subnet("s", "", "10.0.0.0/24")},
		"an invalid CIDR": {{ID: "s", AvailabilityZone: "z"}},
	}
	for name, subnets := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(Config{Subnets: subnets}); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}

func TestDefaultSubnetsAreADefaultVPC(t *testing.T) {
	subnets := DefaultSubnets("eu-west-1")
	want := []string{"172.31.0.0/20", "172.31.16.0/20", "172.31.32.0/20"}
	for i, s := range subnets {
		if s.CIDR.String() != want[i] || s.AvailabilityZone != "eu-west-1"+string(rune('a'+i)) || len(s.ID) != len("subnet-")+17 {
			t.Errorf("subnet %d = %+v", i, s)
		}
	}
	if _, err := New(Config{Subnets: subnets}); err != nil {
		t.Errorf("New(DefaultSubnets): %v", err)
	}
}

func TestProvisionAndReleaseAreSafeForConcurrentUse(t *testing.T) {
	p := provisioner(t, Config{Subnets: threeZones(), VCPULimit: 1000})
	var wg sync.WaitGroup
	addrs := make(chan netip.Addr, 400)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 50 {
				req := task(w*1000 + n)
				c, err := p.Provision(req)
				if err != nil {
					t.Error(err)
					return
				}
				addrs <- c.PrivateIPv4
				if n%2 == 0 {
					p.Release(req.TaskARN)
				}
			}
		}()
	}
	wg.Wait()
	close(addrs)
	if u := p.Usage(); u.Tasks != 200 || u.CPU != 200*256 {
		t.Errorf("usage %+v, want 200 tasks of 256 CPU", u)
	}
	held := map[netip.Addr]int{}
	for n := range 8 * 50 {
		if c, ok := p.Lookup(task(n/50*1000 + n%50).TaskARN); ok {
			held[c.PrivateIPv4]++
		}
	}
	for a, k := range held {
		if k > 1 {
			t.Errorf("address %s held by %d tasks", a, k)
		}
	}
}

// A restarted server gives its running tasks back what they had; new tasks
// get other addresses and other ENIs.
func TestRestoreGivesATaskBackItsCapacity(t *testing.T) {
	cfg := Config{Subnets: DefaultSubnets("us-east-1"), VCPULimit: 2}
	first, _ := New(cfg)
	had, err := first.Provision(Request{TaskARN: "t1", Group: "family:web", CPU: 1024, MemoryMiB: 2048})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := New(cfg)
	if err := again.Restore(had); err != nil {
		t.Fatal(err)
	}
	if err := again.Restore(had); err == nil {
		t.Error("a task restored twice")
	}
	if got, ok := again.Lookup("t1"); !ok || got != had {
		t.Errorf("restored %+v, want %+v", got, had)
	}
	next, err := again.Provision(Request{TaskARN: "t2", Group: "family:web", CPU: 1024, MemoryMiB: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if next.PrivateIPv4 == had.PrivateIPv4 || next.ENI == had.ENI {
		t.Errorf("a new task got the restored one's address or ENI: %+v", next)
	}
	if u := again.Usage(); u.CPU != 2048 || u.Tasks != 2 {
		t.Errorf("usage %+v", u)
	}
	clash := had
	clash.TaskARN = "t3"
	if err := again.Restore(clash); err == nil {
		t.Error("a task restored onto an address in use")
	}
}
