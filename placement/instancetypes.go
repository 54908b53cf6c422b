package placement

import (
	"fmt"
	"sort"
	"strings"
)

// InstanceType is an EC2 instance type as a container instance registers
// it: its vCPUs and the memory the ECS agent finds on it.
type InstanceType struct {
	Name  string
	VCPUs int
	// GiB is the nominal memory.
	GiB int
}

// CPU is the CPU the instance registers: 1024 units per vCPU.
func (t InstanceType) CPU() int { return t.VCPUs * 1024 }

// MemoryMiB is the memory the instance registers. The kernel keeps some of
// the nominal memory for itself, so the ECS agent finds a little less: an
// 8 GiB instance registers about 7,985 MiB. berth registers 97.5% of the
// nominal, which gives that figure.
func (t InstanceType) MemoryMiB() int { return t.GiB * 1024 * 975 / 1000 }

// instanceTypes are the common general purpose (t3, m5), compute (c5) and
// memory (r5) instance types, as AWS lists their vCPUs and memory
// (t3.nano, with half a GiB, is left out).
var instanceTypes = map[string]InstanceType{}

func init() {
	for _, t := range []InstanceType{
		{"t3.micro", 2, 1}, {"t3.small", 2, 2}, {"t3.medium", 2, 4}, {"t3.large", 2, 8},
		{"t3.xlarge", 4, 16}, {"t3.2xlarge", 8, 32},
		{"m5.large", 2, 8}, {"m5.xlarge", 4, 16}, {"m5.2xlarge", 8, 32}, {"m5.4xlarge", 16, 64},
		{"m5.8xlarge", 32, 128}, {"m5.12xlarge", 48, 192}, {"m5.16xlarge", 64, 256}, {"m5.24xlarge", 96, 384},
		{"c5.large", 2, 4}, {"c5.xlarge", 4, 8}, {"c5.2xlarge", 8, 16}, {"c5.4xlarge", 16, 32},
		{"c5.9xlarge", 36, 72}, {"c5.12xlarge", 48, 96}, {"c5.18xlarge", 72, 144}, {"c5.24xlarge", 96, 192},
		{"r5.large", 2, 16}, {"r5.xlarge", 4, 32}, {"r5.2xlarge", 8, 64}, {"r5.4xlarge", 16, 128},
		{"r5.8xlarge", 32, 256}, {"r5.12xlarge", 48, 384}, {"r5.16xlarge", 64, 512}, {"r5.24xlarge", 96, 768},
	} {
		instanceTypes[t.Name] = t
	}
}

// LookupInstanceType returns the instance type called name, or an error
// that lists the ones berth knows.
func LookupInstanceType(name string) (InstanceType, error) {
	if t, ok := instanceTypes[strings.ToLower(name)]; ok {
		return t, nil
	}
	return InstanceType{}, fmt.Errorf("instance type %q is not one berth knows the size of (%s); give the instance's CPU and memory instead", name, strings.Join(InstanceTypeNames(), ", "))
}

// InstanceTypeNames lists the instance types berth knows, by family and
// size.
func InstanceTypeNames() []string {
	names := make([]string, 0, len(instanceTypes))
	for n := range instanceTypes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := instanceTypes[names[i]], instanceTypes[names[j]]
		fa, _, _ := strings.Cut(a.Name, ".")
		fb, _, _ := strings.Cut(b.Name, ".")
		if fa != fb {
			return fa < fb
		}
		return a.VCPUs < b.VCPUs || a.VCPUs == b.VCPUs && a.GiB < b.GiB
	})
	return names
}
