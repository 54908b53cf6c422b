//go:build deps

// This file pins the modules berth is built on, so that go mod tidy keeps them
// while the packages that use them are written.
package deps

import (
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/ecs"
	_ "github.com/docker/docker/client"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
)
