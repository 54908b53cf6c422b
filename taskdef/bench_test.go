package taskdef

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// threeContainers is a typical small service: an app, a sidecar it waits
// for, and a log router.
var threeContainers = []byte(`{
  "family": "shop",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "1024",
  "memory": "2048",
  "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  "containerDefinitions": [
    {"name": "app", "image": "public.ecr.aws/shop/app:1.4.2", "cpu": 512, "memoryReservation": 1024, "essential": true,
     "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
     "environment": [{"name": "MODE", "value": "production"}, {"name": "PORT", "value": "8080"}],
     "dependsOn": [{"containerName": "cache", "condition": "HEALTHY"}, {"containerName": "log-router", "condition": "START"}],
     "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}},
    {"name": "cache", "image": "redis:7", "cpu": 256, "memoryReservation": 512, "essential": true,
     "healthCheck": {"command": ["CMD-SHELL", "redis-cli ping"], "interval": 10, "timeout": 3, "retries": 3}},
    {"name": "log-router", "image": "fluent/fluent-bit:3", "cpu": 128, "memoryReservation": 128, "essential": false,
     "mountPoints": [{"sourceVolume": "logs", "containerPath": "/logs", "readOnly": false}]}
  ],
  "volumes": [{"name": "logs"}]
}`)

func benchmarkLoad(b *testing.B, data []byte) {
	b.Helper()
	if _, r, err := Load(data, Options{}); err != nil || !r.Valid() {
		b.Fatalf("benchmark input is not valid: %v %v", err, r.Errors)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Load(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "defs/s")
}

// benchmarkUnmarshal is the baseline: encoding/json decoding the same bytes
// into the model, with no validation at all.
func benchmarkUnmarshal(b *testing.B, data []byte) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var def TaskDefinition
		if err := json.Unmarshal(data, &def); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "defs/s")
}

// BenchmarkLoad measures decode + validate + normalise per definition,
// beside its baseline, a plain json.Unmarshal of the same bytes.
func BenchmarkLoad(b *testing.B) {
	b.Run("three-containers", func(b *testing.B) { benchmarkLoad(b, threeContainers) })
	b.Run("three-containers/baseline-json-unmarshal", func(b *testing.B) { benchmarkUnmarshal(b, threeContainers) })
	files, _ := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	if len(files) == 0 {
		b.Log("conformance corpus absent; only the three-container case runs")
		return
	}
	sort.Slice(files, func(i, j int) bool { return size(files[i]) > size(files[j]) })
	data, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("largest-conformance-file", func(b *testing.B) { benchmarkLoad(b, data) })
	b.Run("largest-conformance-file/baseline-json-unmarshal", func(b *testing.B) { benchmarkUnmarshal(b, data) })
}

func size(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// BenchmarkLoadByContainers shows how validation grows with the number of
// containers (1 to ECS's limit of 10), each container like the app of
// threeContainers, beside json.Unmarshal of the same bytes.
func BenchmarkLoadByContainers(b *testing.B) {
	for _, n := range []int{1, 5, 10} {
		data := definitionWith(n)
		b.Run(fmt.Sprintf("containers=%d", n), func(b *testing.B) { benchmarkLoad(b, data) })
		b.Run(fmt.Sprintf("containers=%d/baseline-json-unmarshal", n), func(b *testing.B) { benchmarkUnmarshal(b, data) })
	}
}

func definitionWith(n int) []byte {
	var ctrs []string
	for i := range n {
		ctrs = append(ctrs, fmt.Sprintf(`{"name": "app%d", "image": "public.ecr.aws/shop/app:1.4.2", "cpu": 64, "memoryReservation": 128,
	  "portMappings": [{"containerPort": %d, "protocol": "tcp", "name": "http%d"}],
	  "environment": [{"name": "MODE", "value": "production"}, {"name": "PORT", "value": "%d"}],
	  "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10},
	  "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}}`, i, 8080+i, i, 8080+i))
	}
	return []byte(`{"family": "sweep", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "2048", "memory": "4096",
	  "containerDefinitions": [` + strings.Join(ctrs, ",") + `]}`)
}

// unknownFieldsDefinition is a valid definition plus n unknown top-level
// fields, all on one line (minified) or one field a line (pretty): n
// problems, located in the same source laid out two ways.
func unknownFieldsDefinition(n int, pretty bool) []byte {
	sep, indent := "", ""
	if pretty {
		sep, indent = "\n", "  "
	}
	var b strings.Builder
	b.WriteString("{" + sep)
	for i := range n {
		fmt.Fprintf(&b, "%s\"unknownField%06d\": %d,%s", indent, i, i, sep)
	}
	b.WriteString(indent + `"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 64}]` + sep + "}")
	return []byte(b.String())
}

// BenchmarkLoadUnknownFieldsMinified measures a definition with many
// problems on one line beside the same definition pretty-printed, in the
// same run, at growing sizes: locating each problem must not cost the
// length of its line.
func BenchmarkLoadUnknownFieldsMinified(b *testing.B) {
	for _, n := range []int{2500, 10000, 40000} {
		for _, layout := range []struct {
			name   string
			pretty bool
		}{{"minified", false}, {"pretty", true}} {
			data := unknownFieldsDefinition(n, layout.pretty)
			b.Run(fmt.Sprintf("fields=%d/%s", n, layout.name), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, r, err := Load(data, Options{}); err != nil || len(r.Errors) != n {
						b.Fatalf("want %d unknown-field errors, got %v (%d)", n, err, len(r.Errors))
					}
				}
			})
		}
	}
}
