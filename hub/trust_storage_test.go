package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/datadir"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// storeEvents is how many events storeBuild writes.
const storeEvents = 400

// storeBuild writes the lamp's TD and storeEvents events through a real hub
// in a new directory. It returns two copies: closed, the directory after a
// clean Close (tables and MANIFEST), and crashed, a copy taken while the hub
// ran, as kill -9 leaves it (the events only in the .mem write-ahead log).
func storeBuild(t *testing.T) (closed, crashed string) {
	t.Helper()
	dir := t.TempDir()
	h := startHub(t, dir)
	agent := registerLamp(t, h)
	for i := range storeEvents {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(strconv.Itoa(i)), nil)
	}
	crashed = t.TempDir()
	storeCopy(t, dir, crashed)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, crashed
}

// storeCopy copies the files of a data directory (not its subdirectories).
func storeCopy(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(dst, e.Name()), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// storeSums is each file of dir with a CRC-32C of its content (fast on the
// large preallocated logs; it is to see changes, not to resist forgery).
func storeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sums[strings.TrimPrefix(path, dir)] = fmt.Sprintf("%d bytes, crc %08x", len(b), crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// storeOne returns the only file of dir whose name ends in ext.
func storeOne(t *testing.T, dir, ext string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+ext))
	if len(m) != 1 {
		t.Fatalf("%s files in %s: %v", ext, dir, m)
	}
	return m[0]
}

// storeHistory reads the lamp's whole event history, page by page.
func storeHistory(t *testing.T, h *hub.Hub, id string) []string {
	t.Helper()
	c := dial(t, h, id)
	c.subscribe("replies/" + id + "/#")
	var got []string
	q := wot.HistoryQuery{Limit: 100}
	for {
		body, _ := json.Marshal(q)
		c.mustPublish(wot.Topic{Kind: wot.TopicEventHistory, ThingID: lampID, Name: "overheating"}.String(), body, &paho.PublishProperties{ResponseTopic: "replies/" + id + "/h"})
		var page wot.HistoryPage
		if err := json.Unmarshal(c.next("replies/"+id+"/h").Payload, &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, string(it.Value))
		}
		if page.Next == "" || len(page.Items) == 0 {
			return got
		}
		q.Cursor = page.Next
	}
}

// TestDamagedStoreRefused damages a store written by a real hub the ways an
// operator met them (issue 12, item 17) and starts a hub on it: the start
// fails with an error naming the file and the way out, and no file of the
// directory was deleted or changed. A crash image that is not damaged
// still opens with every acknowledged event.
func TestDamagedStoreRefused(t *testing.T) {
	closed, crashed := storeBuild(t)
	open := func(t *testing.T, dir string) (*hub.Hub, error) {
		log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
		h, err := hub.New(hub.Options{DataDir: dir, TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", Dev: true, Logger: &log})
		if err == nil {
			t.Cleanup(func() { h.Close() })
			err = h.Start(context.Background())
		}
		return h, err
	}
	refused := func(t *testing.T, dir, file, problem string) {
		t.Helper()
		before := storeSums(t, dir)
		_, err := open(t, dir)
		if err == nil {
			t.Fatalf("hub started on a store with %s %s", file, problem)
		}
		var d *datadir.Damage
		if !errors.Is(err, datadir.ErrDamaged) || !errors.As(err, &d) || d.File != file {
			t.Fatalf("error does not name %s as damaged: %v", file, err)
		}
		for _, want := range []string{file, problem, "restore", "docs/operations.md"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
		}
		if after := storeSums(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("files changed by the refused start:\nbefore %v\nafter  %v", before, after)
		}
	}
	t.Run("CrashImageOpensWithEveryEvent", func(t *testing.T) {
		dir := t.TempDir()
		storeCopy(t, crashed, dir)
		h, err := open(t, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := storeHistory(t, h, "reader"); len(got) != storeEvents {
			t.Errorf("%d events after the crash, want %d", len(got), storeEvents)
		}
	})
	t.Run("MissingManifest", func(t *testing.T) {
		dir := t.TempDir()
		storeCopy(t, closed, dir)
		if err := os.Remove(filepath.Join(dir, "MANIFEST")); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, "MANIFEST", "missing")
	})
	t.Run("GarbledWriteAheadLog", func(t *testing.T) {
		dir := t.TempDir()
		storeCopy(t, crashed, dir)
		wal := storeOne(t, dir, ".mem")
		f, err := os.OpenFile(wal, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The events fill roughly the first 40 KB of the log; 20 KB is in
		// the middle of them.
		if _, err := f.WriteAt([]byte("garbage garbage garbage"), 20_000); err != nil {
			t.Fatal(err)
		}
		f.Close()
		refused(t, dir, filepath.Base(wal), "followed by readable records")
	})
	t.Run("TruncatedTable", func(t *testing.T) {
		dir := t.TempDir()
		storeCopy(t, closed, dir)
		sst := storeOne(t, dir, ".sst")
		st, err := os.Stat(sst)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(sst, st.Size()/2); err != nil {
			t.Fatal(err)
		}
		refused(t, dir, filepath.Base(sst), "unreadable")
	})
	t.Run("GarbledTable", func(t *testing.T) {
		dir := t.TempDir()
		storeCopy(t, closed, dir)
		sst := storeOne(t, dir, ".sst")
		f, err := os.OpenFile(sst, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("garbage"), 100); err != nil {
			t.Fatal(err)
		}
		f.Close()
		refused(t, dir, filepath.Base(sst), "unreadable")
	})
}

// storeExposed lists the files and directories under dir that users other
// than the owner may read, write or enter.
func storeExposed(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			bad = append(bad, fmt.Sprintf("%s %04o", strings.TrimPrefix(path, dir), info.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// TestDataDirPermissions starts a hub on a world-readable data directory
// (issue 12, item 10): it holds the token signing key and the password
// hashes, so the hub takes other users' access away, from the backup
// directory too, and keeps it away for the files Badger makes while it
// runs.
func TestDataDirPermissions(t *testing.T) {
	t.Run("WorldReadableDirectoryTightened", func(t *testing.T) {
		dir, backups := t.TempDir(), t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(backups, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(backups, "old.backup"), []byte("a backup holds the token key"), 0o644); err != nil {
			t.Fatal(err)
		}
		h := startHub(t, dir, func(o *hub.Options) {
			o.Dev = false
			o.AdminPassword = adminPW
			o.PasswordCost = 4
			o.BackupDir = backups
		})
		if bad := append(storeExposed(t, dir), storeExposed(t, backups)...); len(bad) > 0 {
			t.Errorf("readable by others while the hub runs: %v", bad)
		}
		if _, _, err := h.Accounts().IssueToken("admin", time.Hour); err != nil { // the token key is in the store now
			t.Fatal(err)
		}
		if _, err := h.Backup(context.Background(), "new.backup"); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		if bad := append(storeExposed(t, dir), storeExposed(t, backups)...); len(bad) > 0 {
			t.Errorf("readable by others after the hub stopped: %v", bad)
		}
	})
	t.Run("RefusesWhatItCannotTighten", func(t *testing.T) {
		// A directory of another user that others may read: the hub
		// cannot chmod it and must say so instead of starting.
		other := os.TempDir()
		st, err := os.Stat(other)
		if err != nil {
			t.Fatal(err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) == os.Getuid() || st.Mode().Perm()&0o077 == 0 {
			t.Skipf("needs a world-readable directory of another user; %s is not one for uid %d", other, os.Getuid())
		}
		_, err = hub.New(hub.Options{DataDir: other, TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", Dev: true})
		if !errors.Is(err, datadir.ErrExposed) || !strings.Contains(err.Error(), "chmod") {
			t.Errorf("start on %s: %v, want a refusal saying how to fix it", other, err)
		}
	})
}

// TestDeleteThingKeepsWritesFlowing deletes Things while agents write
// events to other Things (issue 12, item 18): Badger's DropPrefix blocks
// every write of the hub while it runs, so 10,240 of 10,242 concurrent
// writes failed during 5 deletes. Every write must succeed, and a deleted
// Thing registered again has no history left.
func TestDeleteThingKeepsWritesFlowing(t *testing.T) {
	const doomed, writers, events = 5, 4, 200
	h := startHub(t, t.TempDir())
	registerLamp(t, h)
	owner := dial(t, h, "doomed-agent")
	thing := func(i int) string { return fmt.Sprintf("urn:doomed:%d", i) }
	tdTopic := func(i int) string {
		return wot.Topic{Kind: wot.TopicAgentTD, AgentID: "doomed-agent", ThingID: thing(i)}.String()
	}
	for i := range doomed {
		owner.mustPublish(tdTopic(i), thingTD(thing(i)), nil)
		for n := range events {
			owner.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "doomed-agent", ThingID: thing(i), Name: "e"}.String(), []byte(strconv.Itoa(n)), nil)
		}
	}

	stop := make(chan struct{})
	type tally struct{ ok, failed int }
	results := make(chan tally, writers)
	for w := range writers {
		c := dial(t, h, fmt.Sprintf("lamp-agent-%d", w), withUser("lamp-agent"))
		go func() {
			var n tally
			defer func() { results <- n }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				resp, err := c.Publish(ctx, &paho.Publish{Topic: agentTopic(wot.TopicAgentEvent, "overheating"), QoS: 1, Payload: []byte("1")})
				cancel()
				if err != nil || resp.ReasonCode >= 0x80 {
					n.failed++
				} else {
					n.ok++
				}
			}
		}()
	}
	for i := range doomed {
		owner.mustPublish(tdTopic(i), nil, nil) // delete
	}
	close(stop)
	var total tally
	for range writers {
		n := <-results
		total.ok += n.ok
		total.failed += n.failed
	}
	if total.failed > 0 || total.ok == 0 {
		t.Errorf("writes to another Thing during %d deletes: %d failed, %d succeeded", doomed, total.failed, total.ok)
	}

	// The deleted Things' history is gone: registered again, they have none.
	owner.mustPublish(tdTopic(0), thingTD(thing(0)), nil)
	c := dial(t, h, "reader")
	c.subscribe("replies/reader/#")
	c.mustPublish(wot.Topic{Kind: wot.TopicEventHistory, ThingID: thing(0), Name: "e"}.String(), nil, &paho.PublishProperties{ResponseTopic: "replies/reader/h"})
	var page wot.HistoryPage
	if err := json.Unmarshal(c.next("replies/reader/h").Payload, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Errorf("history of a deleted Thing registered again: %d items", len(page.Items))
	}
}

// TestClockBackAcrossRestart restarts a hub with its clock an hour earlier
// (issue 12, item 20): history, cursor resume and an agent's request queue
// keep the order things happened in, old before new, and skip nothing.
func TestClockBackAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	withClock := func(o *hub.Options) { o.Now = clk.Now }
	event := agentTopic(wot.TopicAgentEvent, "overheating")

	h := startHub(t, dir, withClock)
	agent := registerLamp(t, h)
	for _, v := range []string{"1", "2", "3"} {
		agent.mustPublish(event, []byte(v), nil)
	}
	agent.Disconnect(&paho.Disconnect{})
	app := dial(t, h, "app")
	app.mustPublish(wot.ActionTopic(lampID, "toggle"), []byte(`{}`), nil) // queued: the agent is away
	before := storeHistory(t, h, "reader-1")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Add(-time.Hour)
	h = startHub(t, dir, withClock)
	agent = registerLamp(t, h)
	for _, v := range []string{"4", "5", "6"} {
		agent.mustPublish(event, []byte(v), nil)
	}
	app = dial(t, h, "app")
	app.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":1}`), nil)

	t.Run("HistoryOldThenNew", func(t *testing.T) {
		if got := storeHistory(t, h, "reader-2"); strings.Join(got, ",") != "1,2,3,4,5,6" || strings.Join(before, ",") != "1,2,3" {
			t.Errorf("history %v (before the restart %v), want 1..6", got, before)
		}
	})
	t.Run("CursorResumeSkipsNothing", func(t *testing.T) {
		c := dial(t, h, "reader-3")
		c.subscribe("replies/reader-3/#")
		ask := func(q wot.HistoryQuery) wot.HistoryPage {
			body, _ := json.Marshal(q)
			c.mustPublish(wot.Topic{Kind: wot.TopicEventHistory, ThingID: lampID, Name: "overheating"}.String(), body, &paho.PublishProperties{ResponseTopic: "replies/reader-3/h"})
			var page wot.HistoryPage
			if err := json.Unmarshal(c.next("replies/reader-3/h").Payload, &page); err != nil {
				t.Fatal(err)
			}
			return page
		}
		first := ask(wot.HistoryQuery{Limit: 3})
		if len(first.Items) != 3 || first.Next == "" {
			t.Fatalf("first page %+v", first)
		}
		var got []string
		for _, it := range ask(wot.HistoryQuery{Cursor: first.Next, Limit: 10}).Items {
			got = append(got, string(it.Value))
		}
		if strings.Join(got, ",") != "4,5,6" {
			t.Errorf("resumed after %s: %v, want 4,5,6", string(first.Items[2].Value), got)
		}
	})
	t.Run("RequestQueueOldThenNew", func(t *testing.T) {
		agent.subscribe(wot.RequestsTopic("lamp-agent"))
		var got []string
		for range 2 {
			got = append(got, userProp(agent.next(wot.RequestsTopic("lamp-agent")), wot.PropName))
		}
		if strings.Join(got, ",") != "toggle,fade" {
			t.Errorf("requests delivered %v, want toggle (before the restart), fade", got)
		}
	})
}
