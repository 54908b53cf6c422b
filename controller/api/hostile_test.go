package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
)

// hostileCase is a request berth must refuse with a 4xx in ECS's shape,
// without running any operation.
type hostileCase struct {
	name        string
	method      string // POST when empty
	path        string // "/" when empty
	contentType string // api.ContentType when empty; "-" for none
	encoding    string // the Content-Encoding
	target      string // the X-Amz-Target; "-" for none
	body        []byte
	wantStatus  int    // 400 when zero
	wantType    string // the __type
	wantInMsg   string // a part of the message
}

const target = api.TargetPrefix + "."

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// wrongTypeCases put a value of every wrong JSON type in every member of
// some inputs.
func wrongTypeCases() []hostileCase {
	var cases []hostileCase
	for _, op := range []string{"RunTask", "RegisterTaskDefinition", "RegisterContainerInstance", "SubmitTaskStateChange", "ListClusters", "StartTask"} {
		in := operationInputs[op]
		for _, m := range walkMembers(in) {
			for _, bad := range wrongValues(m.typ) {
				cases = append(cases, hostileCase{
					name:      fmt.Sprintf("%s refuses %s as %s", op, bad, m.path),
					target:    target + op,
					body:      mustJSON(withValue(in, m.steps, bad)),
					wantType:  api.TypeSerialization,
					wantInMsg: "member " + m.path,
				})
			}
		}
	}
	return cases
}

// unknownMemberCases add a member the model does not have to every
// structure of some inputs, and misspell members in case only.
func unknownMemberCases() []hostileCase {
	var cases []hostileCase
	for _, op := range []string{"RunTask", "RegisterTaskDefinition", "SubmitTaskStateChange"} {
		in := operationInputs[op]
		members := append([]shapeMember{{typ: deref(in)}}, walkMembers(in)...)
		for _, m := range members {
			if m.typ.Kind() != reflect.Struct || m.typ == timestampType {
				continue
			}
			path := "bogusMember"
			if m.path != "" {
				path = m.path + ".bogusMember"
			}
			cases = append(cases, hostileCase{
				name:      fmt.Sprintf("%s refuses an unknown member at %s", op, path),
				target:    target + op,
				body:      mustJSON(withValue(in, m.steps, rawJSON(`{"bogusMember":1}`))),
				wantType:  api.TypeSerialization,
				wantInMsg: "unknown member " + path,
			})
		}
	}
	for _, c := range []struct{ op, body, member, meant string }{
		{"DeleteCluster", `{"Cluster":"default"}`, "Cluster", "cluster"},
		{"RunTask", `{"taskDefinition":"web","Count":1}`, "Count", "count"},
		{"RunTask", `{"taskDefinition":"web","overrides":{"ContainerOverrides":[]}}`, "overrides.ContainerOverrides", "containerOverrides"},
		{"RegisterTaskDefinition", `{"family":"web","containerDefinitions":[{"Name":"web"}]}`, "containerDefinitions[0].Name", "name"},
	} {
		cases = append(cases, hostileCase{
			name:      fmt.Sprintf("%s refuses %s spelt with the wrong case", c.op, c.member),
			target:    target + c.op,
			body:      []byte(c.body),
			wantType:  api.TypeSerialization,
			wantInMsg: fmt.Sprintf("unknown member %s (did you mean %s?)", c.member, c.meant),
		})
	}
	return cases
}

// protocolCases break the protocol: method, path, content type, target.
func protocolCases() []hostileCase {
	return []hostileCase{
		{name: "a GET is refused", method: http.MethodGet, target: target + "ListClusters", wantStatus: 405, wantType: api.TypeUnknownOperation},
		{name: "a PUT is refused", method: http.MethodPut, target: target + "ListClusters", body: []byte(`{}`), wantStatus: 405, wantType: api.TypeUnknownOperation},
		{name: "a DELETE is refused", method: http.MethodDelete, target: target + "DeleteCluster", wantStatus: 405, wantType: api.TypeUnknownOperation},
		{name: "an OPTIONS is refused", method: http.MethodOptions, wantStatus: 405, wantType: api.TypeUnknownOperation},
		{name: "a PATCH is refused", method: http.MethodPatch, target: target + "ListClusters", body: []byte(`{}`), wantStatus: 405, wantType: api.TypeUnknownOperation},
		{name: "a path other than / is refused", path: "/v1/clusters", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 404, wantType: api.TypeUnknownOperation},
		{name: "a query-protocol path is refused", path: "/x?Action=ListClusters", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 404, wantType: api.TypeUnknownOperation},
		{name: "a missing target is refused", target: "-", body: []byte(`{}`), wantType: api.TypeUnknownOperation, wantInMsg: "X-Amz-Target header is missing"},
		{name: "a target without an operation is refused", target: api.TargetPrefix, body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "a target with an empty operation is refused", target: target, body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "another service's target is refused", target: "DynamoDB_20120810.ListTables", body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "another ECS version's target is refused", target: "AmazonEC2ContainerServiceV20141114.ListClusters", body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "an operation berth does not serve is refused", target: target + "CreateService", body: []byte(`{}`), wantType: api.TypeUnknownOperation, wantInMsg: `"CreateService"`},
		{name: "an operation in the wrong case is refused", target: target + "listClusters", body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "an operation with a trailing dot is refused", target: target + "ListClusters.", body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "a huge target is refused", target: target + strings.Repeat("A", 6000), body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "a target with a tab is refused", target: target + "List\tClusters", body: []byte(`{}`), wantType: api.TypeUnknownOperation},
		{name: "no content type is refused", contentType: "-", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 415, wantType: api.TypeSerialization},
		{name: "text/plain is refused", contentType: "text/plain", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 415, wantType: api.TypeSerialization},
		{name: "AWS JSON 1.0 is refused", contentType: "application/x-amz-json-1.0", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 415, wantType: api.TypeSerialization},
		{name: "form encoding is refused", contentType: "application/x-www-form-urlencoded", target: target + "ListClusters", body: []byte(`Action=ListClusters`), wantStatus: 415, wantType: api.TypeSerialization},
		{name: "CBOR is refused", contentType: "application/cbor", target: target + "ListClusters", body: []byte{0xa0}, wantStatus: 415, wantType: api.TypeSerialization},
		{name: "a gzip body is refused", encoding: "gzip", target: target + "ListClusters", body: []byte("\x1f\x8b\x08\x00"), wantStatus: 415, wantType: api.TypeSerialization, wantInMsg: "uncompressed"},
		{name: "a malformed content type is refused", contentType: "application/x-amz-json-1.1; ;;=", target: target + "ListClusters", body: []byte(`{}`), wantStatus: 415, wantType: api.TypeSerialization},
	}
}

// bodyCases send bodies that are not JSON objects of the input.
func bodyCases() []hostileCase {
	cases := []hostileCase{
		{name: "a body over the limit is refused", body: append(append([]byte(`{"nextToken":"`), bytes.Repeat([]byte("a"), api.MaxBodySize)...), `"}`...), wantStatus: 413},
		{name: "whitespace over the limit is refused", body: append([]byte("{"), append(bytes.Repeat([]byte(" "), api.MaxBodySize+1), '}')...), wantStatus: 413},
		{name: "a list nested 100000 deep is refused", body: []byte(strings.Repeat("[", 100000)), wantInMsg: "nested deeper than"},
		{name: "an object nested 20000 deep is refused", body: []byte(strings.Repeat(`{"a":`, 20000)), wantInMsg: "nested deeper than"},
		{name: "deep nesting inside a member is refused", body: []byte(`{"nextToken":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`), wantInMsg: "nested deeper than"},
		{name: "a list where the object belongs is refused", body: []byte(`[]`), wantInMsg: "must be a JSON object"},
		{name: "null as the body is refused", body: []byte(`null`), wantInMsg: "must be a JSON object"},
		{name: "a string as the body is refused", body: []byte(`"cluster"`), wantInMsg: "must be a JSON object"},
		{name: "a number as the body is refused", body: []byte(`42`), wantInMsg: "must be a JSON object"},
		{name: "an unclosed object is refused", body: []byte(`{"nextToken":"a"`), wantInMsg: "malformed JSON"},
		{name: "an unclosed string is refused", body: []byte(`{"nextToken":"a`), wantInMsg: "malformed JSON"},
		{name: "an object without a value is refused", body: []byte(`{"nextToken":}`), wantInMsg: "malformed JSON"},
		{name: "a missing colon is refused", body: []byte(`{"nextToken" "a"}`), wantInMsg: "malformed JSON"},
		{name: "a trailing comma is refused", body: []byte(`{"nextToken":"a",}`), wantInMsg: "malformed JSON"},
		{name: "a lone comma is refused", body: []byte(`{,}`), wantInMsg: "malformed JSON"},
		{name: "single quotes are refused", body: []byte(`{'nextToken':'a'}`), wantInMsg: "malformed JSON"},
		{name: "a comment is refused", body: []byte(`{/* c */}`), wantInMsg: "malformed JSON"},
		{name: "a bare word is refused", body: []byte(`{"nextToken":default}`), wantInMsg: "malformed JSON"},
		{name: "a control character in a string is refused", body: []byte("{\"nextToken\":\"a\x01\"}"), wantInMsg: "malformed JSON"},
		{name: "a bad escape is refused", body: []byte(`{"nextToken":"\x"}`), wantInMsg: "malformed JSON"},
		{name: "a byte order mark is refused", body: []byte("\xef\xbb\xbf{}"), wantInMsg: "malformed JSON"},
		{name: "NaN is refused", body: []byte(`{"maxResults":NaN}`), wantInMsg: "malformed JSON"},
		{name: "a leading zero is refused", body: []byte(`{"maxResults":01}`), wantInMsg: "malformed JSON"},
		{name: "trailing garbage is refused", body: []byte(`{} x`), wantInMsg: "after the JSON object"},
		{name: "a second object is refused", body: []byte(`{}{}`), wantInMsg: "after the JSON object"},
		{name: "a second value is refused", body: []byte(`{} []`), wantInMsg: "after the JSON object"},
		{name: "a NUL byte after the object is refused", body: []byte("{}\x00"), wantInMsg: "after the JSON object"},
		{name: "a member given twice is refused", body: []byte(`{"maxResults":1,"maxResults":2}`), wantInMsg: "member maxResults appears twice"},
		{name: "maxResults out of range is refused", body: []byte(`{"maxResults":4294967297}`), wantInMsg: "member maxResults: 4294967297 is out of range"},
		{name: "a huge number is refused", body: []byte(`{"maxResults":` + strings.Repeat("9", 5000) + `}`), wantInMsg: "out of range"},
		{name: "an exponent is refused for an integer", body: []byte(`{"maxResults":1e2}`), wantInMsg: "want an integer"},
	}
	for i := range cases {
		cases[i].target = target + "ListClusters"
		cases[i].wantType = api.TypeSerialization
	}
	required := []hostileCase{
		{name: "DeleteCluster without cluster is refused", target: target + "DeleteCluster", body: []byte(`{}`), wantInMsg: "member cluster is required"},
		{name: "DeleteCluster with no body is refused", target: target + "DeleteCluster", wantInMsg: "member cluster is required"},
		{name: "DeleteCluster with a null cluster is refused", target: target + "DeleteCluster", body: []byte(`{"cluster":null}`), wantInMsg: "member cluster is required"},
		{name: "RunTask without taskDefinition is refused", target: target + "RunTask", body: []byte(`{"count":1}`), wantInMsg: "member taskDefinition is required"},
		{name: "StartTask without containerInstances is refused", target: target + "StartTask", body: []byte(`{"taskDefinition":"web"}`), wantInMsg: "member containerInstances is required"},
		{name: "a required member deep in RunTask is refused", target: target + "RunTask", body: []byte(`{"taskDefinition":"web","networkConfiguration":{"awsvpcConfiguration":{}}}`), wantInMsg: "member networkConfiguration.awsvpcConfiguration.subnets is required"},
		{name: "PutAttributes without an attribute's name is refused", target: target + "PutAttributes", body: []byte(`{"attributes":[{"value":"x"}]}`), wantInMsg: "member attributes[0].name is required"},
		{name: "TagResource without tags is refused", target: target + "TagResource", body: []byte(`{"resourceArn":"arn:aws:ecs:us-east-1:1:cluster/a"}`), wantInMsg: "member tags is required"},
	}
	for i := range required {
		required[i].wantType = api.TypeInvalidParameter
	}
	return append(cases, required...)
}

func hostileCases() []hostileCase {
	var all []hostileCase
	all = append(all, wrongTypeCases()...)
	all = append(all, unknownMemberCases()...)
	all = append(all, protocolCases()...)
	all = append(all, bodyCases()...)
	return all
}

var requestIDShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHostileRequestsGetA4xxInECSShape(t *testing.T) {
	cases := hostileCases()
	if len(cases) < 300 {
		t.Fatalf("only %d hostile cases were generated", len(cases))
	}
	before := runtime.NumGoroutine()
	mux, ran := newRecordingMux()
	srv := httptest.NewServer(mux)
	client := srv.Client()

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(cmpOr(c.method, http.MethodPost), srv.URL+cmpOr(c.path, "/"), bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.contentType != "-" {
				req.Header.Set("Content-Type", cmpOr(c.contentType, api.ContentType))
			}
			if c.encoding != "" {
				req.Header.Set("Content-Encoding", c.encoding)
			}
			if c.target != "-" && c.target != "" {
				req.Header.Set("X-Amz-Target", c.target)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			checkECSError(t, resp, cmpOr(c.wantStatus, 400), c.wantType, c.wantInMsg)
			if len(ran.ops) != 0 {
				t.Fatalf("the request ran %v", ran.ops)
			}
		})
	}

	srv.Close()
	client.CloseIdleConnections()
	waitForGoroutines(t, before)
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}

// checkECSError asserts an answer is an ECS error of the given status and
// type whose message holds wantInMsg.
func checkECSError(t *testing.T, resp *http.Response, wantStatus int, wantType, wantInMsg string) {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("status %d, a server error, for a client's mistake: %s", resp.StatusCode, data)
	}
	if resp.StatusCode != wantStatus {
		t.Errorf("status %d, want %d: %s", resp.StatusCode, wantStatus, data)
	}
	if id := resp.Header.Get("X-Amzn-Requestid"); !requestIDShape.MatchString(id) {
		t.Errorf("x-amzn-RequestId %q is not UUID-shaped", id)
	}
	if ct := resp.Header.Get("Content-Type"); ct != api.ContentType {
		t.Errorf("Content-Type %q, want %s", ct, api.ContentType)
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("the answer is not JSON: %q", data)
	}
	msg, _ := body["message"].(string)
	if body["__type"] != wantType || len(body) != 2 || msg == "" {
		t.Errorf("answer %s, want {\"__type\": %q, \"message\": ...}", data, wantType)
	}
	if et := resp.Header.Get("X-Amzn-Errortype"); et != wantType {
		t.Errorf("X-Amzn-ErrorType %q, want %q", et, wantType)
	}
	if !strings.Contains(msg, wantInMsg) {
		t.Errorf("message %q does not say %q", msg, wantInMsg)
	}
}

// waitForGoroutines fails when goroutines started since before are still
// there once the server is closed. Closing a server ends its goroutines
// asynchronously, so this waits for them; the wait bounds a hang, it does
// not measure speed.
func waitForGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}
