package inbox

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/wotmq/wotmq/wire"
)

// encodeRequestSamples are requests in the shapes the hub stores, and
// ones whose strings or values the direct encoder leaves to json.Marshal.
func encodeRequestSamples() []*Request {
	t0 := time.Date(2026, 12, 7, 6, 30, 1, 120000000, time.UTC)
	base := func() *Request {
		return &Request{ActionStatus: wire.ActionStatus{ID: "18ea17be8a066596", ThingID: "urn:dev:ops:lamp-1", Name: "fade", Op: wire.OpInvokeAction,
			Status: wire.StatusDelivered, Input: json.RawMessage(`{"to":30}`), Sender: "app", Requested: t0, Updated: t0, Expires: t0.Add(24 * time.Hour)},
			AgentID: "lamp-agent", ReplyTo: "replies/app/x", Correlation: []byte{1, 2, 3, 250}, FinalOnly: true, Deliveries: 1}
	}
	var out []*Request
	add := func(f func(r *Request)) {
		r := base()
		f(r)
		out = append(out, r)
	}
	add(func(r *Request) {})
	add(func(r *Request) {
		r.Status, r.Output, r.Updated = wire.StatusCompleted, json.RawMessage(`30`), t0.Add(time.Millisecond)
	})
	add(func(r *Request) {
		r.Status, r.Error = wire.StatusFailed, wire.Errorf(wire.CodeExpired, "no outcome before the request expired (24h0m0s after it was made)")
	})
	add(func(r *Request) { r.Error = &wire.Error{Code: wire.CodeAgentError} })
	add(func(r *Request) {
		r.Input, r.Sender, r.Expires, r.ReplyTo, r.Correlation, r.FinalOnly, r.Deliveries = nil, "", time.Time{}, "", nil, false, 0
	})
	add(func(r *Request) { r.Safe, r.Deliveries, r.Status = true, 12, wire.StatusPending })
	add(func(r *Request) { r.Input = json.RawMessage(`{ "to" : 30 }`) })               // compacted
	add(func(r *Request) { r.Input = json.RawMessage(`"<b>&amp;"`) })                  // escaped for HTML
	add(func(r *Request) { r.Input = json.RawMessage(`"caf\u00e9 \"q\" é"`) })         // escapes, UTF-8
	add(func(r *Request) { r.Output = json.RawMessage("\"\u2028\"") })                 // line separator
	add(func(r *Request) { r.Sender = `a"b\c<d>` })                                    // escaped strings
	add(func(r *Request) { r.Name = "tëmp" })                                          // UTF-8 name
	add(func(r *Request) { r.AgentID, r.ReplyTo = "ag\tent", "r&r" })                  // escaped extras
	add(func(r *Request) { r.Requested = t0.In(time.FixedZone("x", 3600)) })           // an offset
	add(func(r *Request) { r.Updated = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC) }) // beyond 9999
	add(func(r *Request) { r.Requested = time.Time{} })
	return out
}

// TestRequestEncodingMatchesJSON: the direct encoder writes what
// json.Marshal writes, byte for byte (the stored format is unchanged), and
// the status record is its prefix.
func TestRequestEncodingMatchesJSON(t *testing.T) {
	for i, r := range encodeRequestSamples() {
		checkRequestEncoding(t, i, r)
	}
}

func checkRequestEncoding(t *testing.T, i int, r *Request) {
	t.Helper()
	want, wantErr := json.Marshal(r)
	got, statusLen, err := encodeRequest(r)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%d: error %v, json.Marshal %v", i, err, wantErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%d:\n got %s\nwant %s", i, got, want)
	}
	wantStatus, _ := json.Marshal(r.ActionStatus)
	if st := StatusJSON(r); !bytes.Equal(st, wantStatus) {
		t.Fatalf("%d: status\n got %s\nwant %s", i, st, wantStatus)
	}
	if statusLen >= 0 && !bytes.Equal(append(got[:statusLen:statusLen], '}'), wantStatus) {
		t.Fatalf("%d: status prefix %s", i, got[:statusLen])
	}
}

// FuzzRequestEncoding holds the direct encoder to json.Marshal's output
// for any strings and values.
func FuzzRequestEncoding(f *testing.F) {
	f.Add("fade", "app", "agent", []byte(`{"to":30}`), []byte(`30`), "msg", int64(0), 1)
	f.Add("tëmp", `a"b`, "a<b", []byte(`{ "a" : [1, 2] }`), []byte("\"\u2028\""), "", int64(1<<40), 0)
	f.Fuzz(func(t *testing.T, name, sender, agent string, input, output []byte, msg string, nanos int64, deliveries int) {
		t0 := time.Unix(0, nanos).UTC()
		r := &Request{ActionStatus: wire.ActionStatus{ID: "0000000000000001", ThingID: "urn:x", Name: name, Op: wire.OpInvokeAction,
			Status: wire.StatusCompleted, Sender: sender, Requested: t0, Updated: t0},
			AgentID: agent, Deliveries: deliveries}
		if json.Valid(input) {
			r.Input = input
		}
		if json.Valid(output) {
			r.Output = output
		}
		if msg != "" {
			r.Error = &wire.Error{Code: wire.CodeAgentError, Message: msg}
		}
		checkRequestEncoding(t, 0, r)
	})
}
