package api

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a point in time as the ECS API carries it: seconds since the
// Unix epoch as a JSON number, with a fraction for sub-second precision
// (1700000000.123). berth keeps milliseconds, as ECS does. Use the
// `omitzero` tag option so that an unset Timestamp is left out of the
// answer, as ECS leaves out what has not happened yet.
type Timestamp struct {
	time.Time
}

// Time wraps t; a zero t gives the zero Timestamp, which is omitted.
func Time(t time.Time) Timestamp { return Timestamp{Time: t} }

// maxEpochSeconds is the last second of year 9999: any later value is a
// mistake, and refusing it keeps time arithmetic away from overflow.
const maxEpochSeconds = 253402300799

// MarshalJSON writes epoch seconds with at most three decimals.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	ms := t.UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds; null leaves the Timestamp zero.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*t = Timestamp{}
		return nil
	}
	ts, err := parseEpochSeconds(string(data))
	if err != nil {
		return err
	}
	*t = ts
	return nil
}

// parseEpochSeconds reads a JSON number of epoch seconds, refusing values
// beyond year 9999 or before year 0001 and anything that is not finite.
func parseEpochSeconds(s string) (Timestamp, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return Timestamp{}, fmt.Errorf("want epoch seconds, got %q", s)
	}
	if f > maxEpochSeconds || f < -62135596800 {
		return Timestamp{}, fmt.Errorf("epoch seconds %s out of range", s)
	}
	return Timestamp{Time: time.UnixMilli(int64(math.Round(f * 1000))).UTC()}, nil
}
