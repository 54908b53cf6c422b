package cost

import "time"

// anHour is the hour the hourly prices are worked out over.
var anHour = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// FargateHourly is what an hour of a Fargate task of cpu units and
// memoryMiB costs (with the included storage): the rate `berth compare`
// shows beside an instance's.
func (p Prices) FargateHourly(cpu, memoryMiB int, spot bool) float64 {
	return p.Fargate(FargateTask{CPU: cpu, MemoryMiB: memoryMiB, Spot: spot, Start: anHour, End: anHour.Add(time.Hour)})
}

// EC2Hourly is what an hour of a container instance of instanceType
// costs, busy or idle; ErrUnknownInstanceType when the table has no price.
func (p Prices) EC2Hourly(instanceType string) (float64, error) {
	return p.EC2(Instance{InstanceType: instanceType, Start: anHour, End: anHour.Add(time.Hour)})
}
