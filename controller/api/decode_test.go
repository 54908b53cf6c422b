package api_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// decodeMessages are requests whose error messages users will read; the
// golden file holds the exact words.
var decodeMessages = []struct{ op, body string }{
	{"RunTask", `{"taskDefinition":1}`},
	{"RunTask", `{"taskDefinition":{"family":"web"}}`},
	{"RunTask", `{"taskDefinition":["web"]}`},
	{"RunTask", `{"taskDefinition":"web","count":"2"}`},
	{"RunTask", `{"taskDefinition":"web","count":2.5}`},
	{"RunTask", `{"taskDefinition":"web","count":2147483648}`},
	{"RunTask", `{"taskDefinition":"web","enableExecuteCommand":"yes"}`},
	{"RunTask", `{"taskDefinition":"web","overrides":{"containerOverrides":[{"name":"web","cpu":"256"}]}}`},
	{"RunTask", `{"taskDefinition":"web","overrides":{"containerOverrides":{"name":"web"}}}`},
	{"RunTask", `{"taskDefinition":"web","tags":[{"key":"a","value":1}]}`},
	{"RunTask", `{"taskDefinition":"web","launchtype":"EC2"}`},
	{"RunTask", `{"taskDefinition":"web","capacityProviderStrategy":[{"weight":1}]}`},
	{"RunTask", `{"count":1}`},
	{"RunTask", `{"taskDefinition":"web","taskDefinition":"api"}`},
	{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","memory":"512"}]}`},
	{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","dockerLabels":{"a":1}}]}`},
	{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"name":"web","imagee":"x"}]}`},
	{"RegisterTaskDefinition", `{"family":"web","volumes":[{"name":"v","s3filesVolumeConfiguration":{}}]}`},
	{"SubmitTaskStateChange", `{"pullStartedAt":"2026-11-27T07:00:00Z"}`},
	{"SubmitTaskStateChange", `{"pullStartedAt":1e300}`},
	{"RegisterContainerInstance", `{"totalResources":[{"name":"CPU","type":"INTEGER","integerValue":1.5}]}`},
	{"RegisterContainerInstance", `{"totalResources":[{"name":"CPU","doubleValue":"x"}]}`},
	{"ListClusters", `{"maxResults":null,"nextToken":null}`},
	{"ListClusters", ``},
	{"ListClusters", `[]`},
	{"ListClusters", `{"maxResults":10`},
	{"ListClusters", `{"maxResults":10}}`},
	{"ListClusters", `{"maxResults":10,}`},
	{"ListClusters", `{"maxResults":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`},
	{"DeleteCluster", `{"cluster":null}`},
	{"DeleteCluster", `{"Cluster":"prod"}`},
}

func TestDecodeErrorMessages(t *testing.T) {
	var b strings.Builder
	for _, c := range decodeMessages {
		in := reflect.New(operationInputs[c.op]).Interface()
		err := api.Decode([]byte(c.body), in)
		fmt.Fprintf(&b, "%s %s\n", c.op, c.body)
		var e *api.Error
		switch {
		case err == nil:
			fmt.Fprintf(&b, "\taccepted\n")
		case errors.As(err, &e):
			fmt.Fprintf(&b, "\t%s: %s\n", e.Type, e.Message)
		default:
			t.Errorf("%s %s: %v is not an *api.Error", c.op, c.body, err)
		}
	}
	golden := filepath.Join("testdata", "decode_errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("messages differ from %s (run go test -update and review the diff):\n%s", golden, got)
	}
}
