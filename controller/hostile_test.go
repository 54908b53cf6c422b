package controller_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
)

// TestEveryOperationAnswersOddInputWithAClientError sends each operation
// served inputs that are well-formed JSON but odd for it (empty, wrong
// references, extreme numbers), beside a registered instance: every answer
// is a success or an ECS error of the client's, never a ServerException.
func TestEveryOperationAnswersOddInputWithAClientError(t *testing.T) {
	srv := startServer(t, t.TempDir())
	client := newClient(t, srv)
	createCluster(t, client, &ecs.CreateClusterInput{})
	registerInstance(t, client, sized(""))
	inputs := []string{
		`{}`,
		`{"cluster":"arn:aws:ecs:us-east-1:000000000000:cluster/"}`,
		`{"containerInstances":[""]}`,
		`{"containerInstances":["arn:aws:ecs:us-east-1:000000000000:container-instance/"]}`,
		`{"containerInstance":"arn:aws:ecs:us-east-1:000000000000:container-instance/default/x/y"}`,
		`{"containerInstanceArn":"arn:aws:ecs:us-east-1:000000000000:container-instance/default/0123456789abcdef0123456789abcdef"}`,
		`{"totalResources":[{"name":"CPU","integerValue":-2147483648},{"name":"MEMORY","longValue":-9223372036854775808}]}`,
		`{"totalResources":[{"name":"PORTS","stringSetValue":["-1","65536","", "0x50"]}]}`,
		`{"totalResources":[{"name":"CPU","type":"DOUBLE","doubleValue":1e308}]}`,
		`{"attributes":[{"name":""}]}`,
		`{"attributes":[{"name":"a","targetId":"arn:aws:ecs:us-east-1:000000000000:container-instance/default/0123456789abcdef0123456789abcdef"}]}`,
		`{"attributes":[{"name":"a","targetId":"arn:aws:ecs:us-east-1:000000000000:container-instance/"}]}`,
		`{"attributes":[{"name":"ecs.instance-type","value":"z9.huge"}]}`,
		`{"filter":"(((((("}`,
		`{"filter":"attribute:a =~ ["}`,
		`{"status":"INACTIVE","containerInstances":["0123456789abcdef0123456789abcdef"]}`,
		`{"targetType":"container-instance","attributeValue":"x"}`,
		`{"targetType":"container-instance","maxResults":0}`,
		`{"targetType":"container-instance","nextToken":"@@@"}`,
		`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:container-instance//"}`,
		`{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:container-instance/0123456789abcdef0123456789abcdef","tags":[{"key":"a"}]}`,
		`{"include":["NOPE"],"containerInstances":["0123456789abcdef0123456789abcdef"]}`,
	}
	for _, op := range controller.Operations {
		t.Run(op, func(t *testing.T) {
			for _, in := range inputs {
				if errType, msg := postOperation(t, srv.Addr(), op, []byte(in)); errType == api.TypeServer {
					t.Errorf("%s: ServerException (%s)", in, msg)
				}
			}
		})
	}
}
