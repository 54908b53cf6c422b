package controller_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/taskdef"
)

// conformanceDir holds real task definitions gathered from public
// repositories, beside the project; it is absent on a user's clone.
const conformanceDir = "../../shared/conformance/taskdefs/real"

// postOperation sends body as the input of op, as the AWS CLI sends a
// --cli-input-json file, and returns the error type answered ("" for
// success) and the message.
func postOperation(t *testing.T, addr, op string, body []byte) (errType, message string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", api.ContentType)
	req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return "", ""
	}
	var e struct{ Message string }
	_ = json.Unmarshal(data, &e)
	return resp.Header.Get("X-Amzn-Errortype"), e.Message
}

// TestRegisterTaskDefinitionGivesRealDefinitionsTheVerdictOfBerthValidate
// checks that a definition sent through the API gets the verdict taskdef
// gives the file: the API decodes the request and hands taskdef JSON of its
// own, which must not change what is valid.
func TestRegisterTaskDefinitionGivesRealDefinitionsTheVerdictOfBerthValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conformanceDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Skipf("conformance corpus not found at %s (it sits beside the project, not in it); skipping", conformanceDir)
	}
	srv := startServer(t, t.TempDir())
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, report, err := taskdef.Load(data, taskdef.Options{})
			if err != nil {
				t.Skipf("not a definition taskdef reads: %v", err)
			}
			errType, msg := postOperation(t, srv.Addr(), "RegisterTaskDefinition", data)
			switch {
			case errType == api.TypeSerialization:
				// Output of describe-task-definition, or a file wrapped in
				// {"taskDefinition": …}: taskdef reads it, the API (as
				// ECS's) takes only RegisterTaskDefinition's members.
				t.Skipf("not a RegisterTaskDefinition input: %s", msg)
			case report.Valid() && errType != "":
				t.Errorf("berth validate finds it valid; the API answered %s: %s", errType, msg)
			case !report.Valid() && errType != api.TypeClient:
				t.Errorf("berth validate finds it invalid (%v); the API answered %q, want ClientException", report.Errors, errType)
			}
		})
	}
}

// TestRegisterTaskDefinitionNamesEachProblemAsBerthValidateDoes sends the
// invalid examples: each problem berth validate prints (pointer, message,
// rule) is in the ClientException. A member the input does not have, or a
// value of the wrong JSON type, never reaches the rules: the API refuses
// the request as ECS does, with a SerializationException naming it.
func TestRegisterTaskDefinitionNamesEachProblemAsBerthValidateDoes(t *testing.T) {
	files, err := filepath.Glob("../examples/invalid/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid examples: %v", err)
	}
	srv := startServer(t, t.TempDir())
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, report, err := taskdef.Load(data, taskdef.Options{})
			if err != nil || report.Valid() {
				t.Fatalf("berth validate: %v, %v; want problems", report, err)
			}
			errType, msg := postOperation(t, srv.Addr(), "RegisterTaskDefinition", data)
			if errType == api.TypeSerialization {
				member := report.Errors[0].Pointer[strings.LastIndex(report.Errors[0].Pointer, "/")+1:]
				if !strings.Contains(msg, member) {
					t.Errorf("SerializationException %q does not name %s", msg, member)
				}
				return
			}
			if errType != api.TypeClient {
				t.Fatalf("answered %s (%s), want ClientException", errType, msg)
			}
			for _, p := range report.Errors {
				if !strings.Contains(msg, p.String()) {
					t.Errorf("message %q does not hold %q", msg, p.String())
				}
			}
		})
	}
}
