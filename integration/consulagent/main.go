// Command consulagent is the Consul command line (agent, members, ...) built
// from the pinned github.com/hashicorp/consul module, for lbkit's integration
// tests. `go install github.com/hashicorp/consul@VERSION` is refused because
// Consul's go.mod carries replace directives; a main of our own in a module of
// our own that requires Consul as a library does build.
//
// Consul is BUSL-1.1 licensed: build this for local tests only and never
// ship the resulting binary. scripts/consul-agent.sh builds it into a cache
// outside the clone and prints its path.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/hashicorp/consul/command"
	consulcli "github.com/hashicorp/consul/command/cli"
	"github.com/hashicorp/consul/command/version"
	"github.com/mitchellh/cli"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run dispatches args to the commands Consul registers for its own binary so
// that `consulagent agent -dev ...` behaves like `consul agent -dev ...`.
func run(args []string) int {
	// Some of Consul's dependencies write to the standard logger; the agent
	// has its own logger, so this output would only be noise in test logs.
	log.SetOutput(io.Discard)

	ui := &consulcli.BasicUI{
		BasicUi: cli.BasicUi{Writer: os.Stdout, ErrorWriter: os.Stderr},
	}
	commands := command.RegisteredCommands(ui)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}

	c := &cli.CLI{
		Name:        "consul",
		Args:        args,
		Commands:    commands,
		HelpFunc:    cli.FilteredHelpFunc(names, cli.BasicHelpFunc("consul")),
		HelpWriter:  os.Stdout,
		ErrorWriter: os.Stderr,
	}
	if c.IsVersion() {
		return version.New(ui).Run(nil)
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "consul: %v\n", err)
		return 1
	}
	return code
}
