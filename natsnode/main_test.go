package natsnode_test

import (
	"os"
	"testing"

	"github.com/wotmq/wotmq/clustertest"
)

func TestMain(m *testing.M) {
	clustertest.RunNATSChildIfAsked() // the process tests' nodes
	os.Exit(m.Run())
}
