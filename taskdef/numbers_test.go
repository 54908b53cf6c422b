package taskdef

import (
	"strings"
	"testing"
)

// TestIntegerFieldsRefuseWhatECSRefuses guards the integer parameters:
// a number with a fraction or an exponent, or one outside ECS's 32-bit
// Integer, is named by its pointer and position with the AWS CLI's words,
// not reported as a decoder failure of the whole document at 1:1.
func TestIntegerFieldsRefuseWhatECSRefuses(t *testing.T) {
	tests := []struct {
		name, field, value string
		wrapped            bool // as describe-task-definition output
		ptr, rule, msg     string
	}{
		{name: "an exponent that overflows a float is no integer", field: "cpu", value: "1e400",
			ptr: "/containerDefinitions/0/cpu", rule: "integer-type",
			msg: "Invalid type for parameter containerDefinitions[0].cpu, value: 1e400, type: <class 'float'>, valid types: <class 'int'>"},
		{name: "a whole number written with an exponent is no integer", field: "memory", value: "6.4e1",
			ptr: "/containerDefinitions/0/memory", rule: "integer-type",
			msg: "Invalid type for parameter containerDefinitions[0].memory, value: 6.4e1, type: <class 'float'>, valid types: <class 'int'>"},
		{name: "a whole number written with a fraction is no integer", field: "port", value: "80.0",
			ptr: "/containerDefinitions/0/portMappings/0/containerPort", rule: "integer-type",
			msg: "Invalid type for parameter containerDefinitions[0].portMappings[0].containerPort, value: 80.0, type: <class 'float'>, valid types: <class 'int'>"},
		{name: "an integer beyond 32 bits is out of range", field: "memory", value: "99999999999999999999999",
			ptr: "/containerDefinitions/0/memory", rule: "integer-range",
			msg: "Invalid value for parameter containerDefinitions[0].memory, value: 99999999999999999999999, valid max value: 2147483647"},
		{name: "one past the largest Integer is out of range", field: "port", value: "2147483648",
			ptr: "/containerDefinitions/0/portMappings/0/containerPort", rule: "integer-range",
			msg: "Invalid value for parameter containerDefinitions[0].portMappings[0].containerPort, value: 2147483648, valid max value: 2147483647"},
		{name: "an integer below 32 bits is out of range", field: "cpu", value: "-99999999999999999999999",
			ptr: "/containerDefinitions/0/cpu", rule: "integer-range",
			msg: "Invalid value for parameter containerDefinitions[0].cpu, value: -99999999999999999999999, valid min value: -2147483648"},
		{name: "describe output names the parameter inside the definition", field: "cpu", value: "6.4e1", wrapped: true,
			ptr: "/taskDefinition/containerDefinitions/0/cpu", rule: "integer-type",
			msg: "Invalid type for parameter containerDefinitions[0].cpu, value: 6.4e1, type: <class 'float'>, valid types: <class 'int'>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cpu, memory, port := "256", "512", "80"
			switch tt.field {
			case "cpu":
				cpu = tt.value
			case "memory":
				memory = tt.value
			case "port":
				port = tt.value
			}
			src := "{\n  \"family\": \"f\",\n  \"containerDefinitions\": [\n" +
				"    {\"name\": \"a\", \"image\": \"nginx\", \"cpu\": " + cpu + ", \"memory\": " + memory + ",\n" +
				"     \"portMappings\": [{\"containerPort\": " + port + "}]}\n  ]\n}\n"
			if tt.wrapped {
				src = `{"taskDefinition": ` + src + "}"
			}
			_, report, err := Load([]byte(src), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(report.Errors) != 1 {
				t.Fatalf("want one error, got %v", report.Errors)
			}
			p := report.Errors[0]
			line, col := 4, strings.Index(strings.Split(src, "\n")[3], tt.value)+1
			if tt.field == "port" {
				line, col = 5, strings.Index(strings.Split(src, "\n")[4], tt.value)+1
			}
			if p.Pointer != tt.ptr || p.Rule != tt.rule || p.Message != tt.msg || p.Line != line || p.Column != col {
				t.Errorf("got %d:%d %s %q (%s)\nwant %d:%d %s %q (%s)", p.Line, p.Column, p.Pointer, p.Message, p.Rule, line, col, tt.ptr, tt.msg, tt.rule)
			}
		})
	}
}

func TestIntegerFieldsTakeEveryThirtyTwoBitInteger(t *testing.T) {
	src := `{"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 64,
	  "ulimits": [{"name": "nofile", "softLimit": -2147483648, "hardLimit": 2147483647}]}]}`
	if _, report, err := Load([]byte(src), Options{}); err != nil || !report.Valid() {
		t.Fatalf("Load: %v %v", err, report.Errors)
	}
}

// TestDuplicateKeysWarnAndTheLaterValueWins guards keys given twice in
// one object: berth warns, naming the key and where both stand, and uses
// the later value whole, as the AWS CLI's JSON parser does; an object
// given twice is not merged.
func TestDuplicateKeysWarnAndTheLaterValueWins(t *testing.T) {
	src := "{\n  \"family\": \"first\",\n  \"family\": \"second\",\n  \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"nginx\", \"memory\": 64,\n" +
		"    \"linuxParameters\": {\"maxSwap\": 512, \"initProcessEnabled\": true}, \"linuxParameters\": {\"swappiness\": 10}}]\n}\n"
	task, report, err := Load([]byte(src), Options{})
	if err != nil || !report.Valid() {
		t.Fatalf("Load: %v %v", err, report.Errors)
	}
	want := []struct {
		ptr, msg  string
		line, col int
	}{
		{"/family", `key "family" is given twice in this object, at 2:3 and at 3:3; the later value is used, as the AWS CLI uses it`, 3, 3},
		{"/containerDefinitions/0/linuxParameters", `key "linuxParameters" is given twice in this object, at 5:5 and at 5:70; the later value is used, as the AWS CLI uses it`, 5, 70},
	}
	var dups []Problem
	for _, w := range report.Warnings {
		if w.Rule == "duplicate-key" {
			dups = append(dups, w)
		}
	}
	if len(dups) != len(want) {
		t.Fatalf("duplicate-key warnings %v, want %d", dups, len(want))
	}
	for i, w := range want {
		if p := dups[i]; p.Pointer != w.ptr || p.Message != w.msg || p.Line != w.line || p.Column != w.col {
			t.Errorf("warning %d: %d:%d %s %q\nwant        %d:%d %s %q", i, p.Line, p.Column, p.Pointer, p.Message, w.line, w.col, w.ptr, w.msg)
		}
	}
	if task.Definition.Family != "second" {
		t.Errorf("family %q, want the later value", task.Definition.Family)
	}
	lp := task.Definition.ContainerDefinitions[0].LinuxParameters
	if lp.MaxSwap != nil || lp.InitProcessEnabled != nil || lp.Swappiness == nil || *lp.Swappiness != 10 {
		t.Errorf("linuxParameters %+v, want the later object alone (swappiness 10)", *lp)
	}
}

func TestDuplicateKeysInDifferentObjectsAreNoDuplicates(t *testing.T) {
	src := `{"family": "f", "containerDefinitions": [{"name": "a", "image": "nginx", "memory": 64}, {"name": "b", "image": "nginx", "memory": 64, "essential": false}],
	  "tags": [{"key": "k:1", "value": "a\":b"}]}`
	_, report, err := Load([]byte(src), Options{})
	if err != nil || !report.Valid() {
		t.Fatalf("Load: %v %v", err, report.Errors)
	}
	for _, w := range report.Warnings {
		if w.Rule == "duplicate-key" {
			t.Errorf("unexpected warning %v", w)
		}
	}
}
