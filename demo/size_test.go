package demo

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"512b", 512, false},
		{"4k", 4 << 10, false},
		{"64m", 64 << 20, false},
		{"64M", 64 << 20, false},
		{"64MiB", 64 << 20, false},
		{"64mb", 64 << 20, false},
		{"1.5g", 3 << 29, false},
		{"2 GiB", 2 << 30, false},
		{"1t", 1 << 40, false},
		{"0", 0, false},
		{"", 0, true},
		{"m", 0, true},
		{"12x", 0, true},
		{"1.2.3m", 0, true},
		{"-5m", 0, true},
		{"99999999999t", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, error %t", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1536, "1.5 KiB"},
		{64 << 20, "64 MiB"},
		{3 << 29, "1.5 GiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
