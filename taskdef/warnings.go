package taskdef

import (
	"regexp"
	"strconv"
	"strings"
)

// approximations warns about fields berth accepts but can only approximate
// on one machine without AWS behind it. Each warning says what berth does
// instead, so nobody mistakes a local run for the real thing.
func (c *checker) approximations() {
	d := c.def
	if len(d.InferenceAccelerators) > 0 {
		c.warn("/inferenceAccelerators", "approximated-inference-accelerators", "Elastic Inference accelerators do not exist locally; berth ignores them.")
	}
	if d.ProxyConfiguration != nil {
		c.warn("/proxyConfiguration", "approximated-proxy", "App Mesh proxy configuration is not applied locally; the proxy container runs as an ordinary container.")
	}
	if d.TaskRoleArn != "" {
		c.warn("/taskRoleArn", "approximated-task-role", "berth does not assume IAM roles: containers get no task role credentials.")
	}
	if d.RuntimePlatform != nil && strings.HasPrefix(d.RuntimePlatform.OperatingSystemFamily, "WINDOWS") {
		c.warn("/runtimePlatform/operatingSystemFamily", "approximated-windows", "berth runs Linux containers; a Windows task definition validates but will not run on a Linux engine.")
	}
	for i, v := range d.Volumes {
		p := "/volumes/" + strconv.Itoa(i)
		if v.EFSVolumeConfiguration != nil {
			c.warn(p+"/efsVolumeConfiguration", "approximated-efs", "EFS file system %s is emulated by a local Docker volume per file system and root directory.", v.EFSVolumeConfiguration.FileSystemID)
		}
		if v.FSxWindowsFileServerVolumeConfiguration != nil {
			c.warn(p+"/fsxWindowsFileServerVolumeConfiguration", "approximated-fsx", "FSx for Windows File Server volumes cannot be mounted locally.")
		}
	}
	for i, ctr := range d.ContainerDefinitions {
		p := containerPtr(i)
		if ctr.RepositoryCredentials != nil {
			c.warn(p+"/repositoryCredentials", "approximated-repository-credentials", "Registry credentials from Secrets Manager are not read; berth pulls with the Docker engine's own credentials.")
		}
		if len(ctr.Secrets) > 0 {
			c.warn(p+"/secrets", "approximated-secrets", "Secrets of container '%s' come from AWS Secrets Manager or Parameter Store, which berth cannot reach; give their values with berth run --env NAME=VALUE.", ctr.Name)
		}
		if len(ctr.EnvironmentFiles) > 0 {
			c.warn(p+"/environmentFiles", "approximated-environment-files", "Environment files in S3 are not read; give their variables with berth run --env NAME=VALUE.")
		}
		if lc := ctr.LogConfiguration; lc != nil && lc.LogDriver != "json-file" {
			c.warn(p+"/logConfiguration/logDriver", "approximated-log-driver", "Log driver %s is replaced locally by json-file, so berth can always read the logs.", lc.LogDriver)
		}
		if ctr.FirelensConfiguration != nil {
			c.warn(p+"/firelensConfiguration", "approximated-firelens", "FireLens routing is not configured locally; the log router runs as an ordinary container.")
		}
		for j, rr := range ctr.ResourceRequirements {
			c.warn(p+"/resourceRequirements/"+strconv.Itoa(j), "approximated-resource-requirements", "%s requirements are not reserved locally.", rr.Type)
		}
		if len(ctr.CredentialSpecs) > 0 {
			c.warn(p+"/credentialSpecs", "approximated-credential-specs", "gMSA credential specs apply to Windows containers only and are ignored.")
		}
	}
}

var (
	// placeholder matches the template markers people leave in definitions
	// they fill in at deploy time: <IMAGE1_NAME>, ${VAR}, {{var}},
	// %VAR%, [your value], ACCOUNT_ID.
	placeholder = regexp.MustCompile(`<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[A-Za-z_]+%|\[[^\]]*\]|ACCOUNT_ID|AWS_REGION|\bREGION\b`)
	roleARN     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	// imageRef is Docker's reference grammar, loosely: [host[:port]/]path[:tag][@digest].
	imageRef = regexp.MustCompile(`^([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$`)
)

// placeholders warns about role ARNs and images that are not yet real:
// people validate templates before a pipeline fills them in.
func (c *checker) placeholders() {
	for _, f := range []struct{ ptr, value string }{{"/taskRoleArn", c.def.TaskRoleArn}, {"/executionRoleArn", c.def.ExecutionRoleArn}} {
		switch {
		case f.value == "":
		case placeholder.MatchString(f.value):
			c.warn(f.ptr, "placeholder", "%s holds a template placeholder (%q); ECS needs a role ARN here.", f.ptr[1:], f.value)
		case !roleARN.MatchString(f.value):
			c.warn(f.ptr, "role-arn-format", "%s %q is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME).", f.ptr[1:], f.value)
		}
	}
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i) + "/image"
		switch {
		case placeholder.MatchString(ctr.Image):
			c.warn(p, "placeholder", "The image of container '%s' holds a template placeholder (%q); it must be replaced before the task can run.", ctr.Name, ctr.Image)
		case !imageRef.MatchString(ctr.Image):
			c.warn(p, "image-reference", "The image of container '%s', %q, is not a valid image reference.", ctr.Name, ctr.Image)
		}
	}
}
