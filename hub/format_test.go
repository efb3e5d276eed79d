package hub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
)

// setKey writes one key into a stopped hub's store.
func setKey(t *testing.T, dir, key, value string) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *badger.Txn) error {
		if value == "" {
			return txn.Delete([]byte(key))
		}
		return txn.Set([]byte(key), []byte(value))
	}); err != nil {
		t.Fatal(err)
	}
}

func getKey(t *testing.T, dir, key string) string {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v []byte
	db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if err == nil {
			v, _ = item.ValueCopy(nil)
		}
		return err
	})
	return string(v)
}

func TestStoreFormat(t *testing.T) {
	dir := t.TempDir()
	openClose := func() error {
		log := zerolog.Nop()
		h, err := hub.New(hub.Options{TCPAddr: "off", WSAddr: "off", HTTPAddr: "off", DataDir: dir, Dev: true, Logger: &log,
			Build: hub.Build{Version: "v1.0.0"}})
		if err != nil {
			return err
		}
		return h.Close()
	}
	t.Run("ANewStoreIsStamped", func(t *testing.T) {
		if err := openClose(); err != nil {
			t.Fatal(err)
		}
		if got := getKey(t, dir, "hub/format"); got != `{"format":1,"by":"v1.0.0"}` {
			t.Errorf("hub/format = %s", got)
		}
	})
	t.Run("AStoreOfAnOlderBinaryIsStamped", func(t *testing.T) {
		setKey(t, dir, "hub/format", "")
		if err := openClose(); err != nil {
			t.Fatal(err)
		}
		if got := getKey(t, dir, "hub/format"); !strings.Contains(got, `"format":1`) {
			t.Errorf("hub/format = %s", got)
		}
	})
	t.Run("ANewerStoreIsRefused", func(t *testing.T) {
		setKey(t, dir, "hub/format", `{"format":2,"by":"v2.0.0"}`)
		err := openClose()
		if !errors.Is(err, hub.ErrNewerStore) || !strings.Contains(err.Error(), "format 2 (first written by wotmq v2.0.0)") ||
			!strings.Contains(err.Error(), "restore the backup") {
			t.Fatalf("New on a newer store: %v", err)
		}
		if got := getKey(t, dir, "hub/format"); got != `{"format":2,"by":"v2.0.0"}` {
			t.Errorf("the refused store was changed: hub/format = %s", got)
		}
	})
}
