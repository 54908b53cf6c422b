package placement

import (
	"strings"
	"testing"
)

func TestInstanceTypesRegisterTheirCPUAndAlmostAllTheirMemory(t *testing.T) {
	tests := []struct {
		name     string
		cpu, mib int
	}{
		{"t3.micro", 2048, 998},
		{"t3.medium", 2048, 3993},
		{"m5.large", 2048, 7987}, // ECS: about 7,985
		{"c5.xlarge", 4096, 7987},
		{"r5.2xlarge", 8192, 63897},
		{"M5.Large", 2048, 7987},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := LookupInstanceType(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if it.CPU() != tt.cpu || it.MemoryMiB() != tt.mib {
				t.Errorf("%s registers %d CPU, %d MiB; want %d, %d", tt.name, it.CPU(), it.MemoryMiB(), tt.cpu, tt.mib)
			}
		})
	}
}

func TestAnUnknownInstanceTypeSaysWhichBerthKnows(t *testing.T) {
	_, err := LookupInstanceType("p4d.24xlarge")
	if err == nil || !strings.Contains(err.Error(), "c5.large, c5.xlarge") || !strings.Contains(err.Error(), "give the instance's CPU and memory") {
		t.Errorf("got %v", err)
	}
	names := InstanceTypeNames()
	for _, family := range []string{"t3.", "m5.", "c5.", "r5."} {
		found := false
		for _, n := range names {
			found = found || strings.HasPrefix(n, family)
		}
		if !found {
			t.Errorf("no %s* instance type among %v", family, names)
		}
	}
}
