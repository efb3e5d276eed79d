package migrate_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/wire"
)

var archiveTime = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// archiveSample writes one record of each kind.
func archiveSample(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := migrate.NewWriter(&b, migrate.Header{Created: archiveTime, Source: "/var/lib/wotmq"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		kind string
		v    any
	}{
		{migrate.KindAccount, authz.Account{ID: "alice", Role: authz.RoleManager, Enabled: true, Created: archiveTime, Hash: []byte("$2a$04$x")}},
		{migrate.KindACL, migrate.ACL{Thing: "urn:t:a", ThingACL: authz.ThingACL{Allow: []string{"alice"}}}},
		{migrate.KindRule, authz.TopicRule{ID: "0a0b0c0d", Who: "*", Filter: "site/#", Subscribe: true}},
		{migrate.KindThing, migrate.Thing{ID: "urn:t:a", Agent: "agent", Updated: archiveTime, TD: json.RawMessage(`{"id":"urn:t:a"}`)}},
		{migrate.KindHistory, migrate.Value{Thing: "urn:t:a", Kind: wire.KindEvent, Name: "e", Value: []byte(`1`), Time: archiveTime}},
		{migrate.KindLatest, migrate.Value{Thing: "urn:t:a", Kind: wire.KindProperty, Name: "p", Value: []byte(`"x"`), Time: archiveTime}},
		{migrate.KindRequest, inbox.Request{ActionStatus: wire.ActionStatus{ID: "18eeec75621f66ee", ThingID: "urn:t:a", Name: "go", Op: wire.OpInvokeAction,
			Status: wire.StatusPending}, AgentID: "agent"}},
		{migrate.KindDesired, migrate.Desired{Thing: "urn:t:a", Desired: inbox.Desired{Name: "p", Value: json.RawMessage(`2`)}}},
		{migrate.KindRetained, retained.Message{Topic: "site/gate", Payload: []byte("open"), QoS: 1}},
	} {
		if err := w.Write(r.kind, r.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(b []byte) ([]migrate.Record, error) {
	r, err := migrate.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []migrate.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func gunzip(t testing.TB, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

func TestArchiveRoundTrip(t *testing.T) {
	b := archiveSample(t)
	recs, err := readAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 9 || recs[0].Account.ID != "alice" || string(recs[4].Value.Value) != "1" || !recs[4].Value.Time.Equal(archiveTime) ||
		recs[6].Request.ID != "18eeec75621f66ee" || string(recs[8].Retained.Payload) != "open" {
		t.Fatalf("read back %+v", recs)
	}
	// Plain JSON lines read too (an archive unpacked to look at it).
	if recs, err := readAll([]byte(gunzip(t, b))); err != nil || len(recs) != 9 {
		t.Fatalf("plain: %d records, %v", len(recs), err)
	}
}

// TestArchiveRefusals: every damage is refused with ErrArchive, naming
// the line.
func TestArchiveRefusals(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(gunzip(t, archiveSample(t)), "\n"), "\n")
	join := func(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }
	body := lines[1 : len(lines)-1]
	for name, b := range map[string][]byte{
		"Empty":            nil,
		"NotJSON":          []byte("PK\x03\x04 a zip file"),
		"NoHeader":         join(lines[1:]...),
		"OtherFormat":      join(append([]string{`{"kind":"header","v":{"format":"other","version":1}}`}, lines[1:]...)...),
		"NewerVersion":     join(append([]string{`{"kind":"header","v":{"format":"wotmq-archive","version":2}}`}, lines[1:]...)...),
		"CutShort":         join(lines[:len(lines)-1]...),
		"CountMismatch":    join(append(lines[:len(lines)-1], `{"kind":"end","v":{"records":3}}`)...),
		"DataAfterTheEnd":  join(append(lines, lines[1])...),
		"SecondHeader":     join(append([]string{lines[0], lines[0]}, lines[1:]...)...),
		"UnknownKind":      join(append(append([]string{lines[0]}, body...), `{"kind":"session","v":{}}`, `{"kind":"end","v":{"records":10}}`)...),
		"BadRequestID":     join(lines[0], `{"kind":"request","v":{"id":"../x","thingID":"t","name":"n","op":"invokeaction","status":"pending","agentID":"a"}}`, `{"kind":"end","v":{"records":1}}`),
		"UnknownField":     join(lines[0], `{"kind":"thing","v":{"id":"t","agent":"a","td":{},"owner":"x"}}`, `{"kind":"end","v":{"records":1}}`),
		"ValueWithoutTime": join(lines[0], `{"kind":"history","v":{"thing":"t","kind":"event","name":"e","value":"MQ=="}}`, `{"kind":"end","v":{"records":1}}`),
		"BadRule":          join(lines[0], `{"kind":"rule","v":{"id":"1","who":"*","filter":"things/#","publish":true}}`, `{"kind":"end","v":{"records":1}}`),
		"EmptyRetained":    join(lines[0], `{"kind":"retained","v":{"topic":"a","payload":"","qos":0,"created":1}}`, `{"kind":"end","v":{"records":1}}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readAll(b)
			if !errors.Is(err, migrate.ErrArchive) {
				t.Fatalf("read: %v, want ErrArchive", err)
			}
			t.Log(err)
		})
	}
}

// FuzzArchiveReader: no input makes the reader panic or accept a record
// that breaks what the importer relies on.
func FuzzArchiveReader(f *testing.F) {
	b := archiveSample(f)
	f.Add(b)
	plain := gunzip(f, b)
	f.Add([]byte(plain))
	f.Add([]byte(plain[:len(plain)/2]))
	f.Add([]byte(`{"kind":"header","v":{"format":"wotmq-archive","version":1}}` + "\n" + `{"kind":"end","v":{"records":0}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readAll(data)
		if err != nil && !errors.Is(err, migrate.ErrArchive) {
			t.Fatalf("an error that is not ErrArchive: %v", err)
		}
		for _, r := range recs {
			switch r.Kind {
			case migrate.KindThing:
				if r.Thing.ID == "" || r.Thing.Agent == "" {
					t.Fatalf("accepted %+v", r.Thing)
				}
			case migrate.KindHistory, migrate.KindLatest:
				if r.Value.Time.IsZero() || r.Value.Thing == "" {
					t.Fatalf("accepted %+v", r.Value)
				}
			case migrate.KindRequest:
				if len(r.Request.ID) != 16 {
					t.Fatalf("accepted %+v", r.Request)
				}
			}
		}
	})
}
