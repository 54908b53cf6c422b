package taskdef

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseCPU turns a task-level cpu string into CPU units (1024 per vCPU).
// ECS accepts units ("1024") and vCPUs ("1 vCPU", "1 vcpu", ".25 vcpu").
func ParseCPU(s string) (int, error) {
	return parseQuantity(s, map[string]float64{"": 1, "vcpu": 1024}, "CPU units or vCPU (\"1024\", \"1 vCPU\")")
}

// ParseMemory turns a task-level memory string into MiB. ECS accepts MiB
// ("2048") and GB ("2GB", "2 GB", "0.5 GB"), where 1 GB is 1024 MiB.
func ParseMemory(s string) (int, error) {
	return parseQuantity(s, map[string]float64{"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024}, "MiB or GB (\"2048\", \"2 GB\")")
}

func parseQuantity(s string, units map[string]float64, want string) (int, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	factor, ok := units[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("%q is not a quantity in %s", s, want)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a quantity in %s", s, want)
	}
	n := v * factor
	if n != float64(int64(n)) || n > 1<<31 {
		return 0, fmt.Errorf("%q is not a whole number of units", s)
	}
	return int(n), nil
}
