package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FakeSSH puts an ssh first on PATH for the rest of the test, as an engine
// over ssh (DOCKER_HOST=ssh://…) is reached: it takes only the command line
// login followed by `docker system dial-stdio` ("-l me -p 2222 -- somehost
// docker system dial-stdio" for ssh://me@somehost:2222), says otherwise on
// its standard error and exits 255, as ssh does when it cannot connect,
// and runs `docker system dial-stdio` against the test machine's engine,
// as sshd would on the host. It returns the file each connection it made
// is written to. The test is skipped without the docker CLI.
func FakeSSH(t testing.TB, login string) string {
	t.Helper()
	Docker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("the docker CLI, which runs `docker system dial-stdio`, is not on PATH")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "connections")
	// The engine the test machine's DOCKER_HOST names: the host's own
	// environment does not have the client's ssh:// one.
	engine := "unset DOCKER_HOST"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		engine = "DOCKER_HOST='" + h + "'; export DOCKER_HOST"
	}
	script := `#!/bin/sh
if [ "$*" != '` + login + ` docker system dial-stdio' ]; then
	echo "ssh: unexpected command line: $*" >&2
	exit 255
fi
echo "$*" >> '` + log + `'
` + engine + `
exec docker system dial-stdio
`
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}
