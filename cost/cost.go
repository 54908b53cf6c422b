// Package cost estimates what ECS tasks would cost on AWS, so that a class
// sees money accrue as tasks run. It charges each launch type by AWS's
// rule:
//
//	Fargate       the task's size (vCPU, GB of memory, ephemeral storage
//	              beyond the 20 GB included) for its running time, from the
//	              start of its image pull to its end, per second with a
//	              one-minute minimum; Fargate Spot at its own, lower rates
//	EC2           the registered instance's time, busy or idle, per second
//	              with a one-minute minimum, at its on-demand hourly price;
//	              the tasks on it cost nothing more
//
// The prices are a table (Default) that a user may override with a JSON
// file (Load); the defaults say where and when they were taken.
package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Prices is a price table for one region, in US dollars.
type Prices struct {
	Region string `json:"region"`
	// TakenOn says when the prices were read, as YYYY-MM.
	TakenOn string `json:"takenOn"`
	// Source says where they were read.
	Source string `json:"source"`

	FargateVCPUHour     float64 `json:"fargateVCPUHour"`
	FargateGBHour       float64 `json:"fargateGBHour"`
	FargateSpotVCPUHour float64 `json:"fargateSpotVCPUHour"`
	FargateSpotGBHour   float64 `json:"fargateSpotGBHour"`
	// FargateStorageGBHour is charged for ephemeral storage beyond the
	// IncludedStorageGB every Fargate task has.
	FargateStorageGBHour float64 `json:"fargateStorageGBHour"`
	// EC2Hour is the on-demand price of an hour of each instance type.
	EC2Hour map[string]float64 `json:"ec2Hour"`
}

// IncludedStorageGB is the ephemeral storage a Fargate task has at no
// charge.
const IncludedStorageGB = 20

// minimumBilled is the least time AWS bills a Fargate task or a Linux
// instance for.
const minimumBilled = time.Minute

// Default is the price table berth uses unless told otherwise: us-east-1,
// Linux on x86, on-demand.
//
// The on-demand figures are AWS's list prices for us-east-1 (Fargate per
// vCPU-hour, per GB-hour and per GB-hour of ephemeral storage beyond the
// included 20; EC2 Linux instances per hour), read from third-party copies
// of AWS's price list in 2026.
//
// Fargate Spot has no fixed list price: it follows spare capacity, and AWS
// states only that it runs "at up to a 70% discount off the regular Fargate
// price". Its figures here are therefore an assumption, not a price taken:
// the on-demand rates less the full 70% (0.3 × $0.04048 a vCPU-hour and
// 0.3 × $0.004445 a GB-hour). A table given with --prices replaces them
// (fargateSpotVCPUHour, fargateSpotGBHour) with the rates of the day.
func Default() Prices {
	return Prices{
		Region:  "us-east-1",
		TakenOn: "2026-01",
		Source: "on-demand: AWS's list prices, Linux/x86, from third-party copies of its price list; " +
			"Fargate Spot: assumed, the on-demand rates less AWS's \"up to 70%\" (it varies; override with --prices)",
		FargateVCPUHour:      0.04048,
		FargateGBHour:        0.004445,
		FargateSpotVCPUHour:  0.012144,  // 0.3 × FargateVCPUHour
		FargateSpotGBHour:    0.0013335, // 0.3 × FargateGBHour
		FargateStorageGBHour: 0.000111,
		EC2Hour: map[string]float64{
			"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
			"m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768,
			"c5.large": 0.085, "c5.xlarge": 0.17, "c5.2xlarge": 0.34, "c5.4xlarge": 0.68,
			"r5.large": 0.126, "r5.xlarge": 0.252, "r5.2xlarge": 0.504,
		},
	}
}

// Load reads a price table in JSON over the defaults: a member given
// replaces the default (decoding into the default table does exactly
// that), an instance type given is added or replaced. What is not such a
// table is refused, naming the member at fault and what it wants: an
// unknown member, a value of the wrong type, a price below zero; and a
// file that is not one JSON object, by line and column.
func Load(r io.Reader) (Prices, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Prices{}, fmt.Errorf("price table: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Prices{}, errors.New("price table: empty; want a JSON object of prices (" + strings.Join(members(), ", ") + ")")
	}
	p := Default()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Prices{}, fmt.Errorf("price table: %s", decodeError(data, err))
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		rest := bytes.TrimLeft(data[end:], " \t\r\n")
		line, col := position(data, len(data)-len(rest))
		return Prices{}, fmt.Errorf("price table: line %d, column %d: more after the table's closing brace", line, col)
	}
	prices := map[string]float64{
		"fargateVCPUHour": p.FargateVCPUHour, "fargateGBHour": p.FargateGBHour,
		"fargateSpotVCPUHour": p.FargateSpotVCPUHour, "fargateSpotGBHour": p.FargateSpotGBHour,
		"fargateStorageGBHour": p.FargateStorageGBHour,
	}
	for name, price := range p.EC2Hour {
		prices["ec2Hour."+name] = price
	}
	for _, name := range sortedKeys(prices) {
		if price := prices[name]; price < 0 || math.IsNaN(price) || math.IsInf(price, 0) {
			return Prices{}, fmt.Errorf("price table: %s must be a price of zero or more; got %v", name, price)
		}
	}
	return p, nil
}

// decodeError says what is wrong with a price table in its own terms: the
// member, not Go's field.
func decodeError(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the one at fault included.
		line, col := position(data, int(syntax.Offset)-1)
		return fmt.Sprintf("line %d, column %d: not JSON: %s", line, col, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "not JSON: it ends before the table does"
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("want a JSON object of prices, got %s", jsonKind(typ.Value))
	case errors.As(err, &typ) && strings.HasPrefix(typ.Value, "number "):
		return fmt.Sprintf("%s: %s is out of range", typ.Field, strings.TrimPrefix(typ.Value, "number "))
	case errors.As(err, &typ):
		want := "a number (US dollars)"
		switch typ.Field {
		case "region", "takenOn", "source":
			want = "a string"
		case "ec2Hour":
			want = `instance types and their hourly prices in US dollars, as {"m5.large": 0.096}`
		}
		return fmt.Sprintf("%s: want %s, got %s", typ.Field, want, jsonKind(typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("unknown member %s; a table has %s", strings.TrimPrefix(err.Error(), "json: unknown field "), strings.Join(members(), ", "))
	}
	return err.Error()
}

// jsonKind names the JSON type encoding/json reports.
func jsonKind(v string) string {
	switch v {
	case "number", "string", "bool", "array", "object":
		return "a JSON " + v
	}
	return v
}

// members are the names of a price table's members, in its order.
func members() []string {
	t := reflect.TypeOf(Prices{})
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
	}
	return out
}

// position is the line and column, counted from 1, of the byte at index
// i of data.
func position(data []byte, i int) (line, col int) {
	i = min(max(i, 0), len(data))
	before := data[:i]
	return bytes.Count(before, []byte("\n")) + 1, i - bytes.LastIndexByte(before, '\n')
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FargateTask is a Fargate task's size and time.
type FargateTask struct {
	CPU       int // units, 1024 per vCPU
	MemoryMiB int
	// StorageGB is its ephemeral storage; 0 means the included 20.
	StorageGB int
	Spot      bool
	// From the start of its image pull to its end (now, for a task still
	// running).
	Start, End time.Time
}

// Billed is the time AWS bills a task or an instance for, from start to
// end: per second, rounded up, at least a minute.
func Billed(start, end time.Time) time.Duration { return billed(start, end) }

// billed is the time AWS bills for: per second, rounded up, at least a
// minute.
func billed(start, end time.Time) time.Duration {
	secs := math.Ceil(max(end.Sub(start), 0).Seconds())
	return max(time.Duration(secs)*time.Second, minimumBilled)
}

// Fargate is what a Fargate task costs.
func (p Prices) Fargate(t FargateTask) float64 {
	vcpuRate, gbRate := p.FargateVCPUHour, p.FargateGBHour
	if t.Spot {
		vcpuRate, gbRate = p.FargateSpotVCPUHour, p.FargateSpotGBHour
	}
	perHour := float64(t.CPU)/1024*vcpuRate + float64(t.MemoryMiB)/1024*gbRate
	if extra := t.StorageGB - IncludedStorageGB; extra > 0 {
		perHour += float64(extra) * p.FargateStorageGBHour
	}
	return perHour * billed(t.Start, t.End).Hours()
}

// ErrUnknownInstanceType is an instance type the table has no price for.
var ErrUnknownInstanceType = errors.New("no price for the instance type")

// Instance is a container instance's type and registered time.
type Instance struct {
	InstanceType string
	// From its registration to its deregistration (now, for one still
	// registered).
	Start, End time.Time
}

// EC2 is what a container instance costs, busy or idle.
func (p Prices) EC2(in Instance) (float64, error) {
	price, ok := p.EC2Hour[strings.ToLower(in.InstanceType)]
	if !ok {
		return 0, fmt.Errorf("%w %q (the table has %s; add it to the price table)", ErrUnknownInstanceType, in.InstanceType, strings.Join(p.InstanceTypes(), ", "))
	}
	return price * billed(in.Start, in.End).Hours(), nil
}

// InstanceTypes lists the instance types the table prices, sorted.
func (p Prices) InstanceTypes() []string {
	out := make([]string, 0, len(p.EC2Hour))
	for n := range p.EC2Hour {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Bill is what capacity has cost so far, by launch type.
type Bill struct {
	Fargate, EC2 LaunchTypeBill
	// Unpriced are the instance types the table has no price for, sorted:
	// their instances are left out of EC2.
	Unpriced []string
}

// LaunchTypeBill is what the capacity of one launch type has cost: how
// many tasks (Fargate) or instances (EC2), the time billed, the dollars.
type LaunchTypeBill struct {
	Items   int
	Billed  time.Duration
	Dollars float64
}

// Bill prices Fargate tasks and container instances by AWS's rules.
func (p Prices) Bill(tasks []FargateTask, instances []Instance) Bill {
	var b Bill
	for _, t := range tasks {
		b.Fargate.Items++
		b.Fargate.Billed += billed(t.Start, t.End)
		b.Fargate.Dollars += p.Fargate(t)
	}
	unpriced := map[string]bool{}
	for _, in := range instances {
		dollars, err := p.EC2(in)
		if err != nil {
			unpriced[in.InstanceType] = true
			continue
		}
		b.EC2.Items++
		b.EC2.Billed += billed(in.Start, in.End)
		b.EC2.Dollars += dollars
	}
	for t := range unpriced {
		b.Unpriced = append(b.Unpriced, t)
	}
	sort.Strings(b.Unpriced)
	return b
}
