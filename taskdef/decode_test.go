package taskdef

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeLocatesEveryProblemInTheSource(t *testing.T) {
	src := "{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"app\", \"image\": \"nginx\",\n     \"memory\": 4, \"essential\": \"yes\"}\n  ],\n  \"contianer\": 1\n}\n"
	_, report, err := Load([]byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ptr       string
		line, col int
	}{
		{"/containerDefinitions/0/memory", 5, 16},
		{"/containerDefinitions/0/essential", 5, 32},
		{"/contianer", 7, 3},
	}
	if len(report.Errors) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(report.Errors), len(want), report.Errors)
	}
	for i, w := range want {
		p := report.Errors[i]
		if p.Pointer != w.ptr || p.Line != w.line || p.Column != w.col {
			t.Errorf("error %d at %s %d:%d, want %s %d:%d (%s)", i, p.Pointer, p.Line, p.Column, w.ptr, w.line, w.col, p.Message)
		}
	}
}

func TestDecodeRefusesWhatIsNotATaskDefinition(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty input", "", "ends before"},
		{"an array", "[1]", "a JSON object, not an array"},
		{"a string", `"x"`, "not a string"},
		{"broken JSON", "{\n  \"family\": ,\n}", "line 2, column 13: not valid JSON"},
		{"trailing data", `{"family":"a"} {}`, "unexpected data after the end"},
		{"deep nesting", strings.Repeat("[", 100000), "nested deeper than 64 levels"},
		{"binary bytes", "\x00\x01\x02\xff", "not valid JSON"},
		{"too large", strings.Repeat(" ", MaxInputSize+1), "at most 64 KiB"},
		{"unterminated string", `{"family": "a`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load([]byte(tt.in), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrUnreadable) {
				t.Errorf("error %v is not ErrUnreadable", err)
			}
		})
	}
}

func TestDecodeNamesCommonJSONMistakes(t *testing.T) {
	tests := []struct {
		name, in string
		// want is the whole message: position, hint, then encoding/json's
		// own words, or those words alone when no hint fits.
		want string
	}{
		{"trailing comma in an object", "{\"family\": \"web\",\n}", "line 2, column 1: not valid JSON: a comma before }; JSON allows no trailing comma (invalid character '}' looking for beginning of object key string)"},
		{"trailing comma in an array", `{"c": [1, 2, ]}`, "line 1, column 14: not valid JSON: a comma before ]; JSON allows no trailing comma (invalid character ']' looking for beginning of value)"},
		{"missing comma between members", `{"a": "x" "b": 1}`, "line 1, column 11: not valid JSON: a missing comma between two members of an object (invalid character '\"' after object key:value pair)"},
		{"missing comma after a literal", `{"a": true "b": 1}`, "line 1, column 12: not valid JSON: a missing comma between two members of an object (invalid character '\"' after object key:value pair)"},
		{"missing comma between elements", `{"c": [{} {}]}`, "line 1, column 11: not valid JSON: a missing comma between two elements of an array (invalid character '{' after array element)"},
		{"single-quoted value", `{"family": 'web'}`, "line 1, column 12: not valid JSON: single quotes; JSON strings and keys take double quotes (invalid character '\\'' looking for beginning of value)"},
		{"single-quoted key", `{'family': "web"}`, "line 1, column 2: not valid JSON: single quotes; JSON strings and keys take double quotes (invalid character '\\'' looking for beginning of object key string)"},
		{"line comment", "{\n  // web\n  \"family\": \"web\"}", "line 2, column 3: not valid JSON: a // comment; JSON has no comments (invalid character '/' looking for beginning of object key string)"},
		{"block comment", `{"family": /* web */ "web"}`, "line 1, column 12: not valid JSON: a /* */ comment; JSON has no comments (invalid character '/' looking for beginning of value)"},
		{"comment after the definition", "{\"family\": \"web\"}\n/* end */", "line 2, column 1: unexpected data after the end of the task definition: a /* */ comment; JSON has no comments"},
		{"unquoted key", `{"a": 1, cpu : "256"}`, `line 1, column 10: not valid JSON: an unquoted key; JSON keys take double quotes: "cpu" (invalid character 'c' looking for beginning of object key string)`},
		// Bytes that fit no mistake above keep the bare message.
		{"missing colon", `{"family" "web"}`, `line 1, column 11: not valid JSON: invalid character '"' after object key`},
		{"unquoted value", `{"family": web}`, "line 1, column 12: not valid JSON: invalid character 'w' looking for beginning of value"},
		{"letters in a number", `{"memory": 12x}`, "line 1, column 14: not valid JSON: invalid character 'x' after object key:value pair"},
		{"a lone slash", `{"a": 1 / 2}`, "line 1, column 9: not valid JSON: invalid character '/' after object key:value pair"},
		{"a stray comma", `{"a": 1,, "b": 2}`, "line 1, column 9: not valid JSON: invalid character ',' looking for beginning of object key string"},
		{"a word in an array", `{"c": [a: 1]}`, "line 1, column 8: not valid JSON: invalid character 'a' looking for beginning of value"},
		{"garbage after the definition", `{"family": "web"} x`, "line 1, column 19: unexpected data after the end of the task definition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load([]byte(tt.in), Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\nwant        %s", err, tt.want)
			}
		})
	}
}

func TestDecodeAcceptsDescribeOutputAndIgnoresReadOnlyFields(t *testing.T) {
	src := `{"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
	  "revision": 3, "status": "ACTIVE", "family": "web", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 64}]},
	  "tags": [{"key": "team", "value": "blue"}]}`
	task, report, err := Load([]byte(src), Options{})
	if err != nil || !report.Valid() {
		t.Fatalf("Load: %v %v", err, report.Errors)
	}
	if task.Definition.Family != "web" || len(task.Definition.Tags) != 1 {
		t.Errorf("definition not taken from the wrapper: %+v", task.Definition)
	}
	if len(report.Notes) != 2 {
		t.Errorf("want a note for the wrapper and one for the read-only fields, got %v", report.Notes)
	}
}

func TestNormalizeFillsECSDefaults(t *testing.T) {
	src := `{"family": "f", "networkMode": "awsvpc", "cpu": "0.5 vCPU", "memory": "1 GB",
	  "containerDefinitions": [{"name": "a", "image": "nginx", "portMappings": [{"containerPort": 80}],
	    "healthCheck": {"command": ["CMD", "true"]}, "mountPoints": [{"sourceVolume": "v", "containerPath": "/v"}]}],
	  "volumes": [{"name": "v"}, {"name": "d", "dockerVolumeConfiguration": {}}]}`
	task, report, err := Load([]byte(src), Options{})
	if err != nil || !report.Valid() {
		t.Fatalf("Load: %v %v", err, report.Errors)
	}
	c := task.Definition.ContainerDefinitions[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"task cpu units", task.CPU, 512},
		{"task memory MiB", task.Memory, 1024},
		{"launch type", task.LaunchType, LaunchEC2},
		{"essential", *c.Essential, true},
		{"protocol", c.PortMappings[0].Protocol, "tcp"},
		{"awsvpc host port", *c.PortMappings[0].HostPort, 80},
		{"stop timeout", *c.StopTimeout, 30},
		{"health interval", *c.HealthCheck.Interval, 30},
		{"health timeout", *c.HealthCheck.Timeout, 5},
		{"health retries", *c.HealthCheck.Retries, 3},
		{"mount read-only", *c.MountPoints[0].ReadOnly, false},
		{"bare volume is scratch", task.Definition.Volumes[0].Host != nil, true},
		{"docker volume scope", task.Definition.Volumes[1].DockerVolumeConfiguration.Scope, "task"},
		{"docker volume driver", task.Definition.Volumes[1].DockerVolumeConfiguration.Driver, "local"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
		}
	}
}

func TestLaunchTypeFargateAppliesFargateRules(t *testing.T) {
	src := `{"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 64}]}`
	_, ec2, _ := Load([]byte(src), Options{})
	if !ec2.Valid() {
		t.Fatalf("valid on EC2, got %v", ec2.Errors)
	}
	_, fargate, _ := Load([]byte(src), Options{LaunchType: LaunchFargate})
	var rules []string
	for _, p := range fargate.Errors {
		rules = append(rules, p.Rule)
	}
	want := "fargate-cpu-required fargate-memory-required fargate-network-mode"
	if strings.Join(rules, " ") != want {
		t.Errorf("rules %v, want %s", rules, want)
	}
}

func TestReportErrSaysWhatECSSaysFirst(t *testing.T) {
	_, valid, _ := Load([]byte(`{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":64}]}`), Options{})
	if err := valid.Err(); err != nil {
		t.Errorf("a valid definition's Err is %v", err)
	}
	_, report, _ := Load([]byte(`{"family":"f","containerDefinitions":[{"name":"a","image":"i"},{"name":"b","image":"i"}]}`), Options{})
	var invalid *InvalidError
	if err := report.Err(); !errors.As(err, &invalid) || len(invalid.Problems) != 2 {
		t.Fatalf("Err = %v, want an *InvalidError with both problems", err)
	}
	want := "Invalid setting for container 'a'. At least one of 'memory' or 'memoryReservation' must be specified. (and 1 more problem)"
	if got := report.Err().Error(); got != want {
		t.Errorf("Err().Error() = %q, want %q", got, want)
	}
}

// TestLocatingProblemsReadsTheSourceOnce guards the cost of naming each
// problem's line and column: for n problems on one line it must read the
// source at most once, not the line once per problem, so a minified file
// full of problems costs what the same file pretty-printed costs.
func TestLocatingProblemsReadsTheSourceOnce(t *testing.T) {
	for _, n := range []int{100, 1000, 4000} {
		for _, pretty := range []bool{false, true} {
			data := unknownFieldsDefinition(n, pretty)
			t.Run(fmt.Sprintf("%d problems, pretty=%v", n, pretty), func(t *testing.T) {
				doc, err := Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				report := Check(doc, Options{})
				if len(report.Errors) != n {
					t.Fatalf("%d errors, want %d", len(report.Errors), n)
				}
				if doc.locateWork > len(data) {
					t.Errorf("locating %d problems read %d bytes of a %d-byte source; at most the source once", n, doc.locateWork, len(data))
				}
				last := report.Errors[n-1]
				if want := "/unknownField" + fmt.Sprintf("%06d", n-1); last.Pointer != want || last.Line == 0 {
					t.Errorf("last problem %s at %d:%d, want %s located", last.Pointer, last.Line, last.Column, want)
				}
			})
		}
	}
}
