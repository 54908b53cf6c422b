package agent

import "testing"

// A SpareRange is a range of the task subnet, which must be configured:
// an address of it is one no task is given only if the subnet is known.
func TestSpareRangeMustLieWithinTheTaskSubnet(t *testing.T) {
	tests := []struct {
		name, cidr, subnet string
		want               string // the range kept, "" for an error
	}{
		{"none", "", "", ""},
		{"the last /24 of a /16", "172.31.255.0/24", "172.31.0.0/16", "172.31.255.0/24"},
		{"a range given by one of its addresses", "172.31.255.7/24", "172.31.0.0/16", "172.31.255.0/24"},
		{"no task subnet", "172.31.255.0/24", "", ""},
		{"outside the task subnet", "10.1.0.0/24", "172.31.0.0/16", ""},
		{"wider than the task subnet", "172.31.0.0/15", "172.31.0.0/16", ""},
		{"no room for a spare", "172.31.255.0/31", "172.31.0.0/16", ""},
		{"IPv6", "fd00::/64", "172.31.0.0/16", ""},
		{"not a CIDR", "172.31.255.0", "172.31.0.0/16", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spareRange(tt.cidr, tt.subnet)
			switch {
			case tt.want == "" && tt.cidr != "" && err == nil:
				t.Errorf("spareRange(%q, %q) = %s, want an error", tt.cidr, tt.subnet, got)
			case tt.want != "" && (err != nil || got.String() != tt.want):
				t.Errorf("spareRange(%q, %q) = %s, %v; want %s", tt.cidr, tt.subnet, got, err, tt.want)
			case tt.cidr == "" && (err != nil || got.IsValid()):
				t.Errorf("no SpareRange gave %s, %v", got, err)
			}
		})
	}
}
