package hub_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

func withPassword(pw string) dialOpt {
	return func(c *paho.Connect) { c.Password, c.PasswordFlag = []byte(pw), true }
}

const adminPW = "correct horse battery staple"

// TestBackupRestore backs a serving hub up over the admin API, restores the
// backup into a new directory and starts a hub on it: the Thing, its
// history, a pending request and the accounts are all there.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir, func(o *hub.Options) { o.AdminPassword = adminPW })
	agent := registerLamp(t, h)
	for _, v := range []string{"71", "72", "73"} {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(v), nil)
	}
	app := dial(t, h, "app")
	app.subscribe("replies/app/#")
	app.mustPublish(action("fade"), []byte(`{"to":40}`), &paho.PublishProperties{ResponseTopic: "replies/app/f", CorrelationData: []byte("1")})

	admin := dial(t, h, "admin-cli", withUser("admin"), withPassword(adminPW))
	admin.subscribe("replies/admin/#")
	ask := func(c *client, who string, req twin.AdminRequest) *paho.Publish {
		t.Helper()
		body, _ := json.Marshal(req)
		_, _ = c.publish("wotmq/admin", body, &paho.PublishProperties{ResponseTopic: "replies/" + who + "/b"})
		return c.next("replies/" + who + "/b")
	}
	t.Run("RefusesNonAdmins", func(t *testing.T) {
		if m := ask(app, "app", twin.AdminRequest{Op: twin.AdminBackup}); userProp(m, wot.PropError) != string(wot.CodeDenied) {
			t.Errorf("backup by a service account: %s", m.Payload)
		}
	})
	t.Run("RefusesPathsOutsideTheBackupDirectory", func(t *testing.T) {
		for _, name := range []string{"../x", "/tmp/x", ".hidden", "a/b"} {
			if m := ask(admin, "admin", twin.AdminRequest{Op: twin.AdminBackup, File: name}); userProp(m, wot.PropError) != string(wot.CodeInvalidPayload) {
				t.Errorf("backup to %q: %s", name, m.Payload)
			}
		}
	})
	m := ask(admin, "admin", twin.AdminRequest{Op: twin.AdminBackup, File: "b1.backup"})
	var rep twin.BackupReply
	if err := json.Unmarshal(m.Payload, &rep); err != nil || userProp(m, wot.PropStatus) != "completed" {
		t.Fatalf("backup: %s %v", m.Payload, err)
	}
	if rep.File != filepath.Join(dir, "backups", "b1.backup") || rep.Bytes == 0 {
		t.Errorf("backup reply %+v", rep)
	}
	t.Run("RefusesToOverwrite", func(t *testing.T) {
		if m := ask(admin, "admin", twin.AdminRequest{Op: twin.AdminBackup, File: "b1.backup"}); !strings.Contains(string(m.Payload), "exists") {
			t.Errorf("second backup to the same file: %s", m.Payload)
		}
	})
	// The hub goes on serving, and writes after the backup are not in it.
	agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("99"), nil)

	restored := t.TempDir()
	f, err := os.Open(rep.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := hub.Restore(restored, f, nil); err != nil {
		t.Fatal(err)
	}
	t.Run("RestoreRefusesADirectoryWithData", func(t *testing.T) {
		f, _ := os.Open(rep.File)
		defer f.Close()
		if err := hub.Restore(restored, f, nil); !errors.Is(err, hub.ErrNotEmpty) {
			t.Errorf("restore over a store: %v", err)
		}
	})

	h2 := startHub(t, restored)
	c := dial(t, h2, "reader")
	c.subscribe(wot.TDTopic(lampID), wot.ActionStatusTopic(lampID, "fade"), "replies/reader/#")
	if m := c.next(wot.TDTopic(lampID)); !strings.Contains(string(m.Payload), "MyLampThing") {
		t.Errorf("twin TD after restore: %s", m.Payload)
	}
	var st wot.ActionStatus
	if err := json.Unmarshal(c.next(wot.ActionStatusTopic(lampID, "fade")).Payload, &st); err != nil || st.Status != wot.StatusPending {
		t.Errorf("pending request after restore: %+v %v", st, err)
	}
	c.mustPublish(wot.Topic{Kind: wot.TopicEventHistory, ThingID: lampID, Name: "overheating"}.String(), nil, &paho.PublishProperties{ResponseTopic: "replies/reader/h"})
	var page wot.HistoryPage
	if err := json.Unmarshal(c.next("replies/reader/h").Payload, &page); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range page.Items {
		got = append(got, string(it.Value))
	}
	if strings.Join(got, ",") != "71,72,73" {
		t.Errorf("history after restore: %v, want 71,72,73", got)
	}
	if _, err := h2.Accounts().Login(t.Context(), "admin", adminPW, "127.0.0.1"); err != nil {
		t.Errorf("admin login after restore: %v", err)
	}
}
