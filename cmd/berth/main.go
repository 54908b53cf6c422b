// Command berth runs Amazon ECS task definitions on the local Docker engine.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	cmd := newRootCommand()
	if err := cmd.Execute(); err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			if exit.msg != "" {
				fmt.Fprintln(os.Stderr, "berth:", exit.msg)
			}
			os.Exit(exit.code)
		}
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(exitUsage)
	}
}
