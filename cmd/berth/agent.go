package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/dockerhost"
	"github.com/berthdev/berth/scheduler"
)

// agentOptions are berth agent's flags; each has the ECS agent's
// environment variable where it has one.
type agentOptions struct {
	server, token, cluster string
	attributes             []string
	instanceType, zone     string
	hostIP, stateDir       string
}

func newAgentCommand() *cobra.Command {
	var opts agentOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Join this host's Docker engine to a cluster of berth server, as the ECS agent joins an EC2 instance",
		Long: `Join a Docker engine to a cluster of berth server as a container instance,
as the ECS agent joins an EC2 instance. The agent connects out to the server
(a host behind NAT works), registers the instance with the engine's CPUs and
memory less what is reserved, runs the tasks placed on it, reports what
happens to them and heartbeats. It runs in the foreground; Ctrl-C or SIGTERM
stops it, and its tasks keep running: started again with the same --state,
it is the same container instance and takes them up.

The engine is the one the Docker client's environment names (DOCKER_HOST,
DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): unix, tcp with TLS, or
ssh://[USER@]HOST[:PORT], reached as the Docker CLI reaches it, through
ssh and the docker CLI on that host (docker system dial-stdio). The ECS
agent's ECS_CLUSTER, ECS_INSTANCE_ATTRIBUTES (a JSON object),
ECS_RESERVED_MEMORY (MiB), ECS_RESERVED_PORTS and ECS_RESERVED_PORTS_UDP (JSON
lists) configure it as they do the ECS agent. berth's own images are built
on the engine from this binary: no registry is needed.`,
		Example: `  berth agent --server http://10.0.0.5:3185 --token "$BERTH_TOKEN" --zone us-east-1b
  DOCKER_HOST=unix:///run/user/1000/docker.sock ECS_CLUSTER=ci berth agent --server http://10.0.0.5:3185
  DOCKER_HOST=ssh://me@build-box berth agent --server http://10.0.0.5:3185 --zone us-east-1c`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: failingWith(exitFailure, func(cmd *cobra.Command, _ []string) error {
			cfg, err := agentConfig(opts, os.Getenv)
			if err != nil {
				return err
			}
			return runAgent(cmd.Context(), cmd.ErrOrStderr(), cfg)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&opts.server, "server", "", "berth server's URL (default: $"+client.EnvEndpoint+", else http://127.0.0.1:3185)")
	f.StringVar(&opts.token, "token", "", "the server's token (default: $"+envToken+")")
	f.StringVar(&opts.cluster, "cluster", "", "the cluster to join (default: $ECS_CLUSTER, else default)")
	f.StringArrayVar(&opts.attributes, "attribute", nil, "a custom attribute NAME=VALUE (repeatable; added to $ECS_INSTANCE_ATTRIBUTES, and wins for a name in both)")
	f.StringVar(&opts.instanceType, "instance-type", "", "the instance's ecs.instance-type attribute")
	f.StringVar(&opts.zone, "zone", "", "the instance's availability zone (ecs.availability-zone)")
	f.StringVar(&opts.hostIP, "host-ip", "", "the address its tasks' host ports bind to (default: every address)")
	f.StringVar(&opts.stateDir, "state", "", "the agent's state directory: its instance's identity (default: $XDG_STATE_HOME/berth/agent, else ~/.local/state/berth/agent)")
	return cmd
}

// agentConfig reads the flags and the ECS agent's environment variables
// into the agent's configuration; a bad value is a usage error naming it.
func agentConfig(opts agentOptions, getenv func(string) string) (hostagent.Config, error) {
	cfg := hostagent.Config{
		Server:       client.EndpointOf(opts.server, getenv),
		Token:        opts.token,
		Cluster:      opts.cluster,
		InstanceType: opts.instanceType,
		Zone:         opts.zone,
		HostIP:       opts.hostIP,
		StateDir:     opts.stateDir,
		Version:      version,
		Attributes:   map[string]string{},
		EnsureImages: true,
	}
	if cfg.Token == "" {
		cfg.Token = getenv(envToken)
	}
	if cfg.Cluster == "" {
		cfg.Cluster = getenv("ECS_CLUSTER")
	}
	if s := getenv("ECS_INSTANCE_ATTRIBUTES"); s != "" {
		if err := json.Unmarshal([]byte(s), &cfg.Attributes); err != nil {
			return cfg, usageError("ECS_INSTANCE_ATTRIBUTES: want a JSON object of names to string values, such as {\"stack\": \"prod\"}: %v", err)
		}
	}
	pairs, err := parseNameValues("--attribute", opts.attributes)
	if err != nil {
		return cfg, err
	}
	for _, p := range pairs {
		cfg.Attributes[p.Name] = p.Value
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Attributes)) {
		if err := scheduler.CheckAttribute(name, cfg.Attributes[name]); err != nil {
			return cfg, usageError("--attribute, ECS_INSTANCE_ATTRIBUTES: %v", err)
		}
	}
	if s := getenv("ECS_RESERVED_MEMORY"); s != "" {
		mib, err := strconv.ParseInt(s, 10, 64)
		if err != nil || mib < 0 {
			return cfg, usageError("ECS_RESERVED_MEMORY %q: want a whole number of MiB, 0 or more", s)
		}
		cfg.ReservedMemoryMiB = mib
	}
	for name, ports := range map[string]*[]uint16{"ECS_RESERVED_PORTS": &cfg.ReservedPorts, "ECS_RESERVED_PORTS_UDP": &cfg.ReservedPortsUDP} {
		s := getenv(name)
		if s == "" {
			continue
		}
		if err := json.Unmarshal([]byte(s), ports); err != nil {
			return cfg, usageError("%s %q: want a JSON list of ports from 1 to 65535, such as [22, 2375]", name, s)
		}
		for _, p := range *ports {
			if p == 0 {
				return cfg, usageError("%s %q: port 0 is not a port", name, s)
			}
		}
	}
	if host := getenv("DOCKER_HOST"); dockerhost.Check(host) != nil {
		return cfg, usageError("DOCKER_HOST %q: %v", dockerhost.Redacted(host), dockerhost.Check(host))
	}
	if cfg.HostIP != "" && net.ParseIP(cfg.HostIP) == nil {
		return cfg, usageError("--host-ip %q: want an IP address", cfg.HostIP)
	}
	if cfg.StateDir == "" {
		base := getenv("XDG_STATE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return cfg, usageError("--state: no home directory to keep the agent's state in; give --state DIR")
			}
			base = filepath.Join(home, ".local", "state")
		}
		cfg.StateDir = filepath.Join(base, "berth", "agent")
	}
	return cfg, nil
}

func runAgent(ctx context.Context, errOut io.Writer, cfg hostagent.Config) error {
	docker, err := dockerClient()
	if err != nil {
		return err
	}
	defer docker.Close()
	cfg.Docker = docker
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(errOut, format+"\n", args...) }
	cfg.Progress = errOut
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	fmt.Fprintf(errOut, "berth agent: joining cluster %s of %s with the engine at %s (state: %s)\n",
		orDefault(cfg.Cluster, "default"), cfg.Server, docker.DaemonHost(), cfg.StateDir)
	err = hostagent.Run(ctx, cfg)
	fmt.Fprintln(errOut, "berth agent: stopped; its tasks keep running")
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
