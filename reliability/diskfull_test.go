package reliability

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// mountTmpfs mounts a tmpfs of size bytes at dir (root only) and unmounts
// it when the test ends; it skips the test where it cannot.
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// TestDiskFull runs a hub on a small tmpfs that another file fills: the
// hub refuses writes with storage_full before the disk is full, keeps
// serving reads and connections, never crashes, and accepts writes again
// once the space returns.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system")
	}
	mnt := t.TempDir()
	mountTmpfs(t, mnt, 160<<20)
	const minFree = 40 << 20
	p := startProc(t, filepath.Join(mnt, "data"), "--min-free-disk", "40MiB", "--rate-limit", "0")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agent, err := connect(ctx, p.mqtt, "disk-agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Disconnect(&paho.Disconnect{})
	td := []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:disk","title":"Disk",` +
		`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc","events":{"blob":{"data":{"type":"string"}}}}`)
	if rc, err := agent.pub(ctx, "agents/disk-agent/things/urn:disk/td", td, nil); err != nil || rc != 0 {
		t.Fatalf("register: %#x %v", rc, err)
	}
	// Something else fills the disk to just above the hub's reserve...
	ballast := filepath.Join(mnt, "ballast")
	f, err := os.Create(ballast)
	if err != nil {
		t.Fatal(err)
	}
	fill := freeBytes(t, mnt) - minFree - 8<<20
	if _, err := f.Write(make([]byte, fill)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// ... and the hub's own writes (values in the value log) take the rest.
	topic := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "disk-agent", ThingID: "urn:disk", Name: "blob"}.String()
	blob := []byte(`"` + strings.Repeat("x", 8<<10) + `"`)
	accepted := 0
	for {
		rc, err := agent.pub(ctx, topic, blob, nil)
		if err != nil {
			t.Fatalf("after %d events: %v", accepted, err)
		}
		if rc == 0 {
			accepted++
			if accepted > 10000 {
				t.Fatal("writes never refused")
			}
			continue
		}
		if rc != 0x97 {
			t.Fatalf("refusal %#x, want 0x97 storage_full", rc)
		}
		break
	}
	free := freeBytes(t, mnt)
	t.Logf("refused after %d events of 8 KiB, with %d MiB free", accepted, free>>20)
	if free <= 0 {
		t.Error("the disk filled up before the hub refused writes")
	}
	// The hub still serves: connections, reads, health.
	c, err := connect(ctx, p.mqtt, "disk-reader", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(&paho.Disconnect{})
	if err := c.sub(ctx, "replies/disk-reader/#"); err != nil {
		t.Fatal(err)
	}
	if rc, err := c.pub(ctx, "things/urn:disk/events/blob/history", []byte(`{"limit":1}`), &paho.PublishProperties{ResponseTopic: "replies/disk-reader/h"}); err != nil || rc != 0 {
		t.Fatalf("history query while full: %#x %v", rc, err)
	}
	if _, err := c.next(ctx, "replies/disk-reader/h"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + p.metrics + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s while full: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	// Space returns; so do writes.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		rc, err := agent.pub(ctx, topic, blob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rc == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused (%#x) after the space returned", rc)
		}
		<-tick.C
	}
	select {
	case <-p.exited:
		t.Fatalf("hub exited: %v", p.waitErr)
	default:
	}
	p.stop()
}
