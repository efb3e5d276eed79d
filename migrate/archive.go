package migrate

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/wire"
)

// Format names the archive in its header; Version is the newest layout
// this package writes and reads. It goes up when a record's meaning
// changes; a reader refuses a newer one.
const (
	Format  = "wotmq-archive"
	Version = 1
)

// MaxLine bounds one record of an archive (a TD, a payload in base64):
// a longer line is refused rather than read into memory.
const MaxLine = 64 << 20

// ErrArchive is wrapped by every refusal of an archive's content.
var ErrArchive = errors.New("migrate: bad archive")

// The kinds of record, in the order Export writes them.
const (
	KindHeader   = "header"
	KindAccount  = "account"
	KindACL      = "acl"
	KindRule     = "rule"
	KindThing    = "thing"
	KindPresence = "presence"
	KindAgent    = "agent"
	KindHistory  = "history"
	KindLatest   = "latest"
	KindRequest  = "request"
	KindDesired  = "desired"
	KindRetained = "retained"
	KindEnd      = "end"
)

// line is one line of an archive: a kind and its record.
type line struct {
	Kind string          `json:"kind"`
	V    json.RawMessage `json:"v"`
}

// Header is the archive's first record.
type Header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Source says where the data came from (the data directory).
	Source string `json:"source,omitempty"`
}

// End is the archive's last record: an archive without it was cut short.
type End struct {
	Records int `json:"records"` // records between the header and the end
}

// Thing is a directory entry: its agent and its TD as stored.
type Thing struct {
	ID      string          `json:"id"`
	Agent   string          `json:"agent"`
	Updated time.Time       `json:"updated"`
	TD      json.RawMessage `json:"td"`
}

// ThingPresence is a Thing's presence.
type ThingPresence struct {
	ThingID string `json:"thing"`
	presence.Thing
}

// ACL is a Thing's access list.
type ACL struct {
	Thing string `json:"thing"`
	authz.ThingACL
}

// Value is an event or property value: in the history (KindHistory) or
// the latest of its affordance (KindLatest). Time is the store's time, the
// record's cursor.
type Value struct {
	Thing  string           `json:"thing"`
	Kind   wire.HistoryKind `json:"kind"`
	Name   string           `json:"name"`
	Value  []byte           `json:"value"` // the payload as sent (base64 in JSON)
	Sender string           `json:"sender,omitempty"`
	Time   time.Time        `json:"time"`
	Origin time.Time        `json:"origin,omitzero"`
}

// Desired is a property's desired state.
type Desired struct {
	Thing string `json:"thing"`
	inbox.Desired
}

// Record is one record of an archive, as Reader.Next returns it: Kind
// and the one field of that kind.
type Record struct {
	Kind     string
	Header   *Header
	Account  *authz.Account
	ACL      *ACL
	Rule     *authz.TopicRule
	Thing    *Thing
	Presence *ThingPresence
	Agent    *presence.Agent
	Value    *Value // KindHistory, KindLatest
	Request  *inbox.Request
	Desired  *Desired
	Retained *retained.Message
	End      *End
}

// Writer writes an archive: gzip'd JSON, one record a line, a header
// first and an end last (Close).
type Writer struct {
	gz  *gzip.Writer
	buf *bufio.Writer
	n   int
	err error
}

// NewWriter starts an archive on w with its header.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Format, h.Version = Format, Version
	gz := gzip.NewWriter(w)
	aw := &Writer{gz: gz, buf: bufio.NewWriterSize(gz, 64<<10)}
	aw.write(KindHeader, h)
	return aw, aw.err
}

func (w *Writer) write(kind string, v any) {
	if w.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.err = fmt.Errorf("migrate: encode %s: %w", kind, err)
		return
	}
	b, err = json.Marshal(line{Kind: kind, V: b})
	if err != nil {
		w.err = fmt.Errorf("migrate: encode %s: %w", kind, err)
		return
	}
	if len(b) > MaxLine {
		w.err = fmt.Errorf("migrate: a %s record of %d bytes is over the archive's line limit of %d", kind, len(b), MaxLine)
		return
	}
	b = append(b, '\n')
	if _, err := w.buf.Write(b); err != nil {
		w.err = fmt.Errorf("migrate: write: %w", err)
	}
}

// Write adds a record of kind (one of the Kind constants but header and
// end) with its value.
func (w *Writer) Write(kind string, v any) error {
	if kind == KindHeader || kind == KindEnd {
		return fmt.Errorf("migrate: %s is written by the Writer itself", kind)
	}
	w.write(kind, v)
	if w.err == nil {
		w.n++
	}
	return w.err
}

// Close writes the end record and finishes the gzip stream; it does not
// close the underlying writer.
func (w *Writer) Close() error {
	w.write(KindEnd, End{Records: w.n})
	if w.err != nil {
		return w.err
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("migrate: write: %w", err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("migrate: write: %w", err)
	}
	return nil
}

// Reader reads an archive record by record, checking each: the header
// first, known kinds, well-formed records, and the end last.
type Reader struct {
	sc     *bufio.Scanner
	header Header
	n      int
	lineNo int
	ended  bool
}

// NewReader reads the header of the archive in r (gzip'd, or plain JSON
// lines).
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrArchive, err)
		}
		src = gz
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine+1)
	ar := &Reader{sc: sc}
	rec, err := ar.next()
	if err != nil {
		return nil, err
	}
	if rec.Kind != KindHeader {
		return nil, fmt.Errorf("%w: line 1 is a %q record, not the header: not a wotmq archive", ErrArchive, rec.Kind)
	}
	h := *rec.Header
	if h.Format != Format {
		return nil, fmt.Errorf("%w: format %q, not %q", ErrArchive, h.Format, Format)
	}
	if h.Version < 1 || h.Version > Version {
		return nil, fmt.Errorf("%w: version %d; this wotmq reads versions 1 to %d (a newer wotmq wrote it?)", ErrArchive, h.Version, Version)
	}
	ar.header = h
	return ar, nil
}

// Header is the archive's header.
func (r *Reader) Header() Header { return r.header }

// Next returns the next record; io.EOF after the end record. An archive
// that stops before its end record is refused (ErrArchive): it was cut
// short.
func (r *Reader) Next() (Record, error) {
	if r.ended {
		return Record{}, io.EOF
	}
	rec, err := r.next()
	if err != nil {
		return rec, err
	}
	switch rec.Kind {
	case KindHeader:
		return rec, fmt.Errorf("%w: line %d: a second header", ErrArchive, r.lineNo)
	case KindEnd:
		if rec.End.Records != r.n {
			return rec, fmt.Errorf("%w: the end says %d records, the archive has %d", ErrArchive, rec.End.Records, r.n)
		}
		if r.sc.Scan() {
			return rec, fmt.Errorf("%w: line %d: data after the end", ErrArchive, r.lineNo+1)
		}
		if err := r.sc.Err(); err != nil {
			return rec, fmt.Errorf("%w: after the end: %v", ErrArchive, err)
		}
		r.ended = true
		return Record{}, io.EOF
	}
	r.n++
	return rec, nil
}

func (r *Reader) next() (Record, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return Record{}, fmt.Errorf("%w: line %d: %v", ErrArchive, r.lineNo+1, err)
		}
		return Record{}, fmt.Errorf("%w: it ends after line %d without its end record: cut short", ErrArchive, r.lineNo)
	}
	r.lineNo++
	b := r.sc.Bytes()
	var l line
	if err := strictJSON(b, &l); err != nil {
		return Record{}, fmt.Errorf("%w: line %d: %v", ErrArchive, r.lineNo, err)
	}
	rec, err := decodeRecord(l)
	if err != nil {
		return rec, fmt.Errorf("%w: line %d: %v", ErrArchive, r.lineNo, err)
	}
	return rec, nil
}

// strictJSON decodes one JSON value, refusing unknown fields and
// trailing data.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the record")
	}
	return nil
}

// decodeRecord decodes a line's record and checks what every importer
// relies on.
func decodeRecord(l line) (Record, error) {
	rec := Record{Kind: l.Kind}
	if len(l.V) == 0 {
		return rec, fmt.Errorf("a %q record without its value", l.Kind)
	}
	var err error
	switch l.Kind {
	case KindHeader:
		rec.Header = new(Header)
		err = json.Unmarshal(l.V, rec.Header)
	case KindEnd:
		rec.End = new(End)
		err = strictJSON(l.V, rec.End)
	case KindAccount:
		rec.Account = new(authz.Account)
		if err = strictJSON(l.V, rec.Account); err == nil && rec.Account.ID == "" {
			err = errors.New("an account without its ID")
		}
	case KindACL:
		rec.ACL = new(ACL)
		if err = json.Unmarshal(l.V, rec.ACL); err == nil && rec.ACL.Thing == "" {
			err = errors.New("an access list without its Thing")
		}
	case KindRule:
		rec.Rule = new(authz.TopicRule)
		if err = strictJSON(l.V, rec.Rule); err == nil {
			_, err = authz.ParseTopicRule(*rec.Rule)
		}
	case KindThing:
		rec.Thing = new(Thing)
		if err = strictJSON(l.V, rec.Thing); err == nil && (rec.Thing.ID == "" || rec.Thing.Agent == "" || len(rec.Thing.TD) == 0) {
			err = errors.New("a Thing without its ID, agent or TD")
		}
	case KindPresence:
		rec.Presence = new(ThingPresence)
		if err = json.Unmarshal(l.V, rec.Presence); err == nil && rec.Presence.ThingID == "" {
			err = errors.New("a presence without its Thing")
		}
	case KindAgent:
		rec.Agent = new(presence.Agent)
		if err = strictJSON(l.V, rec.Agent); err == nil && rec.Agent.ID == "" {
			err = errors.New("an agent without its ID")
		}
	case KindHistory, KindLatest:
		rec.Value = new(Value)
		if err = strictJSON(l.V, rec.Value); err == nil {
			v := rec.Value
			switch {
			case v.Thing == "" || v.Name == "":
				err = errors.New("a value without its Thing or name")
			case v.Kind != wire.KindEvent && v.Kind != wire.KindProperty:
				err = fmt.Errorf("a value of kind %q", v.Kind)
			case v.Time.IsZero() || v.Time.Unix() < 0:
				err = errors.New("a value without its time")
			}
		}
	case KindRequest:
		rec.Request = new(inbox.Request)
		if err = json.Unmarshal(l.V, rec.Request); err == nil {
			r := rec.Request
			switch {
			case len(r.ID) != 16 || !isHex(r.ID):
				err = fmt.Errorf("a request ID %q (16 hex digits)", r.ID)
			case r.ThingID == "" || r.Name == "" || r.AgentID == "":
				err = errors.New("a request without its Thing, name or agent")
			case r.Op != wire.OpInvokeAction && r.Op != wire.OpWriteProperty:
				err = fmt.Errorf("a request of operation %q", r.Op)
			case !knownStatus(r.Status):
				err = fmt.Errorf("a request of status %q", r.Status)
			}
		}
	case KindDesired:
		rec.Desired = new(Desired)
		if err = json.Unmarshal(l.V, rec.Desired); err == nil && (rec.Desired.Thing == "" || rec.Desired.Name == "") {
			err = errors.New("a desired state without its Thing or property")
		}
	case KindRetained:
		rec.Retained = new(retained.Message)
		if err = strictJSON(l.V, rec.Retained); err == nil && (rec.Retained.Topic == "" || len(rec.Retained.Payload) == 0 || rec.Retained.QoS > 2) {
			err = errors.New("a retained message without its topic or payload, or of a QoS over 2")
		}
	default:
		return rec, fmt.Errorf("a record of unknown kind %q (written by a newer wotmq?)", l.Kind)
	}
	if err != nil {
		return rec, fmt.Errorf("%s: %w", l.Kind, err)
	}
	return rec, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func knownStatus(s wire.Status) bool {
	switch s {
	case wire.StatusPending, wire.StatusDelivered, wire.StatusRunning, wire.StatusWaiting, wire.StatusCompleted, wire.StatusFailed:
		return true
	}
	return false
}
