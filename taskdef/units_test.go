package taskdef

import "testing"

func TestParseCPUAcceptsUnitsAndVCPUs(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"1024", 1024, false},
		{"256", 256, false},
		{"1 vCPU", 1024, false},
		{"1 vcpu", 1024, false},
		{"2vCPU", 2048, false},
		{".25 vcpu", 256, false},
		{"0.5 vCPU", 512, false},
		{" 512 ", 512, false},
		{"1 GB", 0, true},
		{"one", 0, true},
		{"", 0, true},
		{"1.5", 0, true},
		{"0.3 vcpu", 0, true},
		{"1..2", 0, true},
		{"99999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCPU(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseCPU(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseMemoryAcceptsMiBAndGB(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"2048", 2048, false},
		{"2GB", 2048, false},
		{"2 GB", 2048, false},
		{"0.5 GB", 512, false},
		{"1 gb", 1024, false},
		{"512 MiB", 512, false},
		{"1 vcpu", 0, true},
		{"GB", 0, true},
		{"-1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMemory(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseMemory(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestValidFargateSizeFollowsTheTable(t *testing.T) {
	tests := []struct {
		cpu, memory int
		want        bool
	}{
		{256, 512, true}, {256, 1024, true}, {256, 2048, true}, {256, 1536, false}, {256, 3072, false},
		{512, 1024, true}, {512, 4096, true}, {512, 512, false}, {512, 1536, false}, {512, 5120, false},
		{1024, 2048, true}, {1024, 8192, true}, {1024, 1024, false}, {1024, 9216, false},
		{2048, 4096, true}, {2048, 16384, true}, {2048, 17408, false},
		{4096, 8192, true}, {4096, 30720, true}, {4096, 31744, false},
		{8192, 16384, true}, {8192, 20480, true}, {8192, 18432, false}, {8192, 61440, true}, {8192, 65536, false},
		{16384, 32768, true}, {16384, 40960, true}, {16384, 36864, false}, {16384, 122880, true},
		{128, 512, false}, {3072, 8192, false},
	}
	for _, tt := range tests {
		if got := ValidFargateSize(tt.cpu, tt.memory); got != tt.want {
			t.Errorf("ValidFargateSize(%d, %d) = %v, want %v", tt.cpu, tt.memory, got, tt.want)
		}
	}
}

func TestSuggestFindsTheFieldThatWasMeant(t *testing.T) {
	fields := fieldsOf(typeOfTaskDefinition)
	tests := map[string]string{
		"contianerDefinitions": "containerDefinitions",
		"ContainerDefinitions": "containerDefinitions",
		"networkmode":          "networkMode",
		"famly":                "family",
		"memroy":               "memory",
		"zzzzzz":               "",
		"x":                    "",
	}
	for in, want := range tests {
		if got := suggest(in, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
