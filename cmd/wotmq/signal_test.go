package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary's main as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("WOTMQ_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"wotmq"}, strings.Fields(os.Getenv("WOTMQ_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WOTMQ_TEST_RUN_MAIN=1",
		"WOTMQ_TEST_ARGS=serve --log-format json --mqtt-addr 127.0.0.1:0 --ws-addr off --http-addr off --mdns=false --metrics-addr off --data "+dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Wait for the log lines, not for a clock: a busy machine takes its
	// time to start (the first admin's bcrypt hash) and to stop. The bound
	// is for a hang only; the process is killed then.
	waitFor := func(msg string) {
		t.Helper()
		deadline := time.After(2 * time.Minute)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("process ended before %q", msg)
				}
				if strings.Contains(l, msg) {
					return
				}
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatalf("no %q within 2 minutes", msg)
			}
		}
	}
	waitFor(`"hub started"`)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(`"hub stopped"`)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	// The data directory was closed cleanly: it opens again at once.
	m := &Main{LogFormat: "json"}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "off", dir
	m.LogOutput = &lockedBuffer{}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	m.Close()
}
