package migrate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/td"
)

const importTD = `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:t:a","title":"A",
	"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n","properties":{"p":{"type":"integer"}}}`

// importTarget opens Badger stores in a new directory.
func importTarget(t *testing.T) migrate.Target {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(t.TempDir()).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	d, err := directory.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	in, err := inbox.New(db, inbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := authz.Open(ctx, db, authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return migrate.Target{Directory: d, Presence: presence.New(db, nil), Outbox: outbox.New(db, outbox.Options{}), Inbox: in,
		Accounts: a, Rules: a, Retained: retained.Open(db)}
}

// importArchive is an archive of one Thing with the given TD.
func importArchive(t *testing.T, agent, tdJSON string) func() (io.ReadCloser, error) {
	t.Helper()
	var b bytes.Buffer
	w, err := migrate.NewWriter(&b, migrate.Header{Created: archiveTime})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(migrate.KindThing, migrate.Thing{ID: "urn:t:a", Agent: agent, Updated: archiveTime, TD: json.RawMessage(tdJSON)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil }
}

func TestImportRefusesATDTheHubWouldNotTake(t *testing.T) {
	tg := importTarget(t)
	for name, doc := range map[string]string{
		"OtherID":     `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:t:b","title":"B","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`,
		"NoSecurity":  `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:t:a","title":"A"}`,
		"NotAnObject": `[1]`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := migrate.Import(context.Background(), tg, importArchive(t, "agent", doc), migrate.ImportOptions{})
			if !errors.Is(err, migrate.ErrArchive) || tg.Directory.Len() != 0 {
				t.Fatalf("import: %v, %d Things stored; want ErrArchive and none", err, tg.Directory.Len())
			}
			t.Log(err)
		})
	}
}

func TestImportNeverGivesAThingToAnotherAgent(t *testing.T) {
	ctx := context.Background()
	tg := importTarget(t)
	th, err := td.Parse([]byte(importTD))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Directory.Put(ctx, &directory.Entry{ThingID: "urn:t:a", AgentID: "agent-x", TD: th, Updated: archiveTime}, []byte(importTD)); err != nil {
		t.Fatal(err)
	}
	for _, merge := range []bool{false, true} {
		_, err := migrate.Import(ctx, tg, importArchive(t, "agent", importTD), migrate.ImportOptions{Merge: merge})
		if !errors.Is(err, migrate.ErrOwner) {
			t.Fatalf("merge %v: %v, want ErrOwner", merge, err)
		}
	}
	if e, _ := tg.Directory.Get("urn:t:a"); e.AgentID != "agent-x" {
		t.Fatalf("the Thing went to %s", e.AgentID)
	}
	if c, err := migrate.Import(ctx, tg, importArchive(t, "agent-x", importTD), migrate.ImportOptions{}); err != nil || c.Records[migrate.KindThing] != 1 {
		t.Fatalf("the same agent's Thing: %v, %s", err, c)
	}
}
