package taskdef

// FargateSize is one row of Fargate's table of valid task sizes: a CPU value
// and the memory values (MiB) that go with it.
type FargateSize struct {
	CPU                        int
	MinMemory, MaxMemory, Step int
}

// FargateSizes is Fargate's table of task sizes, from the AWS documentation.
var FargateSizes = []FargateSize{
	{CPU: 256, MinMemory: 512, MaxMemory: 2048, Step: 512},
	{CPU: 512, MinMemory: 1024, MaxMemory: 4096, Step: 1024},
	{CPU: 1024, MinMemory: 2048, MaxMemory: 8192, Step: 1024},
	{CPU: 2048, MinMemory: 4096, MaxMemory: 16384, Step: 1024},
	{CPU: 4096, MinMemory: 8192, MaxMemory: 30720, Step: 1024},
	{CPU: 8192, MinMemory: 16384, MaxMemory: 61440, Step: 4096},
	{CPU: 16384, MinMemory: 32768, MaxMemory: 122880, Step: 8192},
}

// ValidFargateSize reports whether cpu units and memory MiB form a Fargate
// configuration. 256 CPU takes 512, 1024 and 2048 MiB only.
func ValidFargateSize(cpu, memory int) bool {
	for _, s := range FargateSizes {
		if s.CPU != cpu {
			continue
		}
		if cpu == 256 {
			return memory == 512 || memory == 1024 || memory == 2048
		}
		return memory >= s.MinMemory && memory <= s.MaxMemory && (memory-s.MinMemory)%s.Step == 0
	}
	return false
}
