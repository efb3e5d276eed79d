package broker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/rs/zerolog"
)

// slogHandler routes Mochi's slog output into zerolog.
type slogHandler struct {
	log   zerolog.Logger
	attrs []slog.Attr
	group string
}

func newSlogLogger(l zerolog.Logger) *slog.Logger {
	return slog.New(&slogHandler{log: l.With().Str("component", "mqtt").Logger()})
}

// quiet lists Mochi messages that the hub reports better itself (a refused
// publish is logged by the hub with its reason) or that are routine.
var quiet = map[string]bool{
	"publish packet error":      true,
	"publish packet rejected":   true,
	"added hook":                true,
	"attached listener":         true,
	"client disconnected":       true,
	"mochi mqtt starting":       true,
	"mochi mqtt server started": true,
	// A client vanishing with packets in flight: routine.
	"error processing packet":  true,
	"connection not open":      true,
	"failed publishing packet": true,
	// A slow consumer's dropped messages: counted in the metrics
	// (wotmq_messages_dropped_total), not logged one by one.
	"client store quota reached": true,
}

func (s *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return s.log.GetLevel() <= zlevel(l)
}

func zlevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	}
	return zerolog.DebugLevel
}

func (s *slogHandler) Handle(_ context.Context, r slog.Record) error {
	lvl := zlevel(r.Level)
	if quiet[r.Message] || (r.Message == "" && lvl == zerolog.WarnLevel) {
		// Mochi's listeners warn with no message whenever a connection
		// ends abnormally (a client vanishing): routine for a hub.
		lvl = zerolog.DebugLevel
	}
	ev := s.log.WithLevel(lvl)
	if ev == nil {
		return nil
	}
	add := func(a slog.Attr) bool {
		key := a.Key
		if s.group != "" {
			key = s.group + "." + key
		}
		if v, ok := a.Value.Any().(error); ok {
			ev = ev.AnErr(key, v)
		} else if a.Value.Kind() == slog.KindAny {
			ev = ev.Str(key, fmt.Sprintf("%v", a.Value.Any()))
		} else {
			ev = ev.Interface(key, a.Value.Any())
		}
		return true
	}
	for _, a := range s.attrs {
		add(a)
	}
	r.Attrs(add)
	ev.Msg(r.Message)
	return nil
}

func (s *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *s
	n.attrs = append(append([]slog.Attr(nil), s.attrs...), attrs...)
	return &n
}

func (s *slogHandler) WithGroup(name string) slog.Handler {
	n := *s
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}
