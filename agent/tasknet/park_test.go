package tasknet

import (
	"net/netip"
	"testing"
)

// A spare's address is drawn from the whole range but its first and last
// address, whatever the range's size.
func TestParkAddressIsInsideTheRange(t *testing.T) {
	for _, cidr := range []string{"172.31.255.0/24", "10.9.255.0/30", "10.9.0.0/20"} {
		park := netip.MustParsePrefix(cidr)
		first := park.Addr()
		last := first
		for next := first.Next(); park.Contains(next); next = next.Next() {
			last = next
		}
		for range 2000 {
			a := parkAddress(park)
			if !park.Contains(a) || a == first || a == last {
				t.Fatalf("parkAddress(%s) = %s, outside the range or at its ends", park, a)
			}
		}
	}
}
