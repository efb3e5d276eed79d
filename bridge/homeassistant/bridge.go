package homeassistant

import (
	"bytes"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/bridge/feed"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Options configures a Bridge. Core is required.
type Options struct {
	// Core is the twin core whose twins are published.
	Core *twin.Core
	// Prefix is Home Assistant's discovery prefix; DefaultPrefix when
	// empty.
	Prefix string
	// Origin names the publisher in every config; DefaultOrigin when its
	// Name is empty.
	Origin Origin
	// Logger receives the bridge's log; the zero Logger drops it.
	Logger zerolog.Logger
}

// Bridge publishes a retained device discovery config for every twin,
// clears it when the Thing is deleted, and publishes them all again when
// Home Assistant announces itself ({prefix}/status "online").
type Bridge struct {
	opts Options
	log  zerolog.Logger
	feed *feed.Feed

	// Owned by the feed's goroutine.
	configs map[string][]byte // published config by Thing ID
}

// New starts a bridge. Create it before the core starts, so that it hears
// the twin TDs the core restores; Close it before the core closes.
func New(opts Options) *Bridge {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Origin.Name == "" {
		v := opts.Origin.Version
		opts.Origin = DefaultOrigin
		opts.Origin.Version = v
	}
	b := &Bridge{opts: opts, log: opts.Logger.With().Str("bridge", "homeassistant").Logger(), configs: map[string][]byte{}}
	b.feed = feed.New(opts.Core, b.log, b.handle)
	b.feed.Listen(wire.DirectoryFilter(), false)
	b.feed.Tap(b.BirthTopic())
	return b
}

// BirthTopic is where Home Assistant announces itself: {prefix}/status.
func (b *Bridge) BirthTopic() string { return b.opts.Prefix + "/status" }

// Close stops the bridge. Published configs stay retained.
func (b *Bridge) Close() { b.feed.Close() }

func (b *Bridge) handle(it feed.Item) {
	m := it.Message
	if it.Tapped {
		if m.Topic == b.BirthTopic() && string(bytes.TrimSpace(m.Payload)) == "online" {
			b.log.Info().Int("things", len(b.configs)).Str("from", it.From.ID).Msg("Home Assistant started: publishing the discovery configs again")
			for id, cfg := range b.configs {
				b.publish(id, cfg)
			}
		}
		return
	}
	t, err := wire.ParseTopic(m.Topic)
	if err != nil || t.Kind != wire.TopicTD {
		return
	}
	if len(m.Payload) == 0 { // the Thing was deleted
		if _, ok := b.configs[t.ThingID]; ok {
			delete(b.configs, t.ThingID)
			b.publish(t.ThingID, nil)
		}
		return
	}
	thing, err := td.Parse(m.Payload)
	if err != nil {
		b.log.Error().Err(err).Str("thing", t.ThingID).Msg("cannot read twin TD")
		return
	}
	thing.ID = t.ThingID
	cfg, skipped, err := Config(thing, b.opts.Origin)
	if err != nil {
		b.log.Error().Err(err).Str("thing", t.ThingID).Msg("cannot build discovery config")
		return
	}
	for _, s := range skipped {
		b.log.Debug().Str("thing", t.ThingID).Str(s.Kind, s.Name).Str("why", s.Why).Msg("left out of the Home Assistant config")
	}
	old, had := b.configs[t.ThingID]
	switch {
	case cfg == nil: // nothing to show: no device, or none any more
		delete(b.configs, t.ThingID)
		if had {
			b.publish(t.ThingID, nil)
		}
	case !bytes.Equal(old, cfg): // not the same TD again
		b.configs[t.ThingID] = cfg
		b.publish(t.ThingID, cfg)
	}
}

// publish retains cfg on the Thing's config topic; nil clears it.
func (b *Bridge) publish(thingID string, cfg []byte) {
	if err := b.opts.Core.PublishOwn(twin.Message{Topic: ConfigTopic(b.opts.Prefix, thingID), Payload: cfg, Retain: true, QoS: 1}); err != nil {
		b.log.Error().Err(err).Str("thing", thingID).Msg("cannot publish discovery config")
	}
}
