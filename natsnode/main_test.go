package natsnode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/natsnode"
)

// childEnv, when set to a JSON natsnode.Options, makes the test binary a
// cluster node for the process tests: it starts the node, prints
// "natsnode ready <client URL>" and runs until it is killed.
const childEnv = "WOTMQ_NATSNODE_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runNatsnodeChild(spec))
	}
	os.Exit(m.Run())
}

func runNatsnodeChild(spec string) int {
	var o natsnode.Options
	if err := json.Unmarshal([]byte(spec), &o); err != nil {
		fmt.Fprintln(os.Stderr, "bad child spec:", err)
		return 2
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Str("node", o.Name).Logger()
	o.Log = &log
	n, err := natsnode.Start(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	fmt.Printf("natsnode ready %s\n", n.ClientURL())
	select {} // until SIGKILL
}
