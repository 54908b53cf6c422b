package fargate

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/bits"
	"net/netip"
)

// Subnet is a subnet tasks take addresses from.
type Subnet struct {
	ID               string
	AvailabilityZone string
	// CIDR is an IPv4 prefix of /16 to /28, as a VPC subnet is.
	CIDR netip.Prefix
}

// reservedLow and reservedHigh are the addresses AWS keeps in every subnet:
// the network address, the VPC router, DNS and one for future use at the
// start, the broadcast address at the end.
const (
	reservedLow  = 4
	reservedHigh = 1
)

// DefaultSubnets are the subnets of a default VPC in region: one /20 per
// availability zone, a, b and c, carved from 172.31.0.0/16 as AWS carves
// them.
func DefaultSubnets(region string) []Subnet {
	subnets := make([]Subnet, 3)
	for i, zone := range []string{"a", "b", "c"} {
		az := region + zone
		h := fnv.New64a()
		h.Write([]byte(az))
		subnets[i] = Subnet{
			ID:               fmt.Sprintf("subnet-%017x", h.Sum64()&(1<<60-1)),
			AvailabilityZone: az,
			CIDR:             netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(16 * i), 0}), 20),
		}
	}
	return subnets
}

// pool hands out the addresses of one subnet. It goes round the subnet
// rather than reusing the lowest free address, so that an address released
// by a stopped task is not given to the next task at once.
type pool struct {
	Subnet
	base   uint32 // first usable address
	size   int    // usable addresses
	used   []uint64
	free   int
	cursor int
	tasks  int
}

func newPool(s Subnet) (*pool, error) {
	if !s.CIDR.IsValid() || !s.CIDR.Addr().Is4() {
		return nil, fmt.Errorf("subnet %s: CIDR %q is not an IPv4 prefix", s.ID, s.CIDR)
	}
	if b := s.CIDR.Bits(); b < 16 || b > 28 {
		return nil, fmt.Errorf("subnet %s: CIDR %s must be between /16 and /28", s.ID, s.CIDR)
	}
	s.CIDR = s.CIDR.Masked()
	a := s.CIDR.Addr().As4()
	size := 1<<(32-s.CIDR.Bits()) - reservedLow - reservedHigh
	return &pool{
		Subnet: s,
		base:   binary.BigEndian.Uint32(a[:]) + reservedLow,
		size:   size,
		used:   make([]uint64, (size+63)/64),
		free:   size,
	}, nil
}

func (p *pool) take() (netip.Addr, bool) {
	if p.free == 0 {
		return netip.Addr{}, false
	}
	for n := 0; n < len(p.used); n++ {
		w := (p.cursor/64 + n) % len(p.used)
		mask := ^p.used[w]
		if n == 0 {
			mask &= ^uint64(0) << (p.cursor % 64) // from the cursor on
		}
		if w == len(p.used)-1 && p.size%64 != 0 {
			mask &= 1<<(p.size%64) - 1 // past the end of the subnet
		}
		if mask == 0 {
			continue
		}
		bit := w*64 + bits.TrailingZeros64(mask)
		p.used[w] |= 1 << (bit % 64)
		p.free--
		p.cursor = (bit + 1) % p.size
		return p.addr(bit), true
	}
	// Only the addresses before the cursor in its own word are left.
	p.cursor = 0
	return p.take()
}

func (p *pool) give(a netip.Addr) {
	b := a.As4()
	bit := int(binary.BigEndian.Uint32(b[:]) - p.base)
	if bit < 0 || bit >= p.size || p.used[bit/64]&(1<<(bit%64)) == 0 {
		return
	}
	p.used[bit/64] &^= 1 << (bit % 64)
	p.free++
}

func (p *pool) addr(bit int) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], p.base+uint32(bit))
	return netip.AddrFrom4(b)
}

// hold takes a, which must be one of the pool's usable addresses; it
// reports false when it is not, or is taken.
func (p *pool) hold(a netip.Addr) bool {
	b := a.As4()
	bit := int(binary.BigEndian.Uint32(b[:]) - p.base)
	if !a.Is4() || bit < 0 || bit >= p.size || p.used[bit/64]&(1<<(bit%64)) != 0 {
		return false
	}
	p.used[bit/64] |= 1 << (bit % 64)
	p.free--
	return true
}
