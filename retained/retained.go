// Package retained keeps the retained messages of free topics (topics
// outside the hub's namespaces, wire.IsFreeTopic) so that they survive a
// restart, as a broker with persistence keeps them: a site that moves its
// devices from such a broker loses nothing. The hub's own retained state
// (TDs, property values, statuses) is rebuilt from its other stores and is
// not kept here.
//
// # Storage
//
// The package owns the Badger keys that start with "retained/" (see
// docs/storage.md):
//
//	retained/{topic}   JSON Message
package retained

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

const prefix = "retained/"

// Property is an MQTT 5 user property.
type Property struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// Message is a retained message as a client published it.
type Message struct {
	Topic   string `json:"topic"`
	Payload []byte `json:"payload"`
	QoS     byte   `json:"qos"`
	// Created and Expires are Unix seconds; Expires is 0 for a message
	// without a Message Expiry Interval.
	Created int64 `json:"created"`
	Expires int64 `json:"expires,omitempty"`
	// The PUBLISH properties a retained message keeps [MQTT-3.3.1-5].
	PayloadFormat     byte       `json:"payloadFormat,omitempty"`
	PayloadFormatFlag bool       `json:"payloadFormatFlag,omitempty"`
	MessageExpiry     uint32     `json:"messageExpiry,omitempty"`
	ContentType       string     `json:"contentType,omitempty"`
	ResponseTopic     string     `json:"responseTopic,omitempty"`
	CorrelationData   []byte     `json:"correlationData,omitempty"`
	User              []Property `json:"user,omitempty"`
}

// Store keeps retained messages in a Badger database shared with other
// packages. It is safe for concurrent use.
type Store struct{ db *badger.DB }

// Open returns the store over db.
func Open(db *badger.DB) *Store { return &Store{db: db} }

// Put keeps m as the retained message of its topic, replacing the one
// there; it returns when the write is committed.
func (s *Store) Put(ctx context.Context, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(prefix+m.Topic), b) }); err != nil {
		return fmt.Errorf("retained: put %s: %w", m.Topic, err)
	}
	return nil
}

// Delete removes the retained message of topic, if any.
func (s *Store) Delete(ctx context.Context, topic string) error {
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(prefix + topic)) }); err != nil {
		return fmt.Errorf("retained: delete %s: %w", topic, err)
	}
	return nil
}

// All returns every retained message whose expiry (Unix seconds) is not
// before now, and deletes the expired ones.
func (s *Store) All(ctx context.Context, now int64) ([]Message, error) {
	var out []Message
	var expired [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var m Message
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) }); err != nil {
				return fmt.Errorf("retained: decode %s: %w", it.Item().Key(), err)
			}
			if m.Expires != 0 && m.Expires < now {
				expired = append(expired, it.Item().KeyCopy(nil))
				continue
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range expired {
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
			return nil, fmt.Errorf("retained: delete expired: %w", err)
		}
	}
	return out, nil
}
