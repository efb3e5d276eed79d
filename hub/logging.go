package hub

import (
	"strings"

	"github.com/rs/zerolog"
)

// badgerLogger routes Badger's log into zerolog. Badger's Info lines are
// routine (compactions, replays) and go to debug.
type badgerLogger struct{ log zerolog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.log.Error().Str("component", "badger").Msgf(f, a...)
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.log.Warn().Str("component", "badger").Msgf(f, a...)
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.log.Debug().Str("component", "badger").Msgf(f, a...)
}
func (b badgerLogger) Debugf(f string, a ...any) {
	if strings.Contains(f, "not referenced in MANIFEST") {
		// Badger deletes the file next: an operator wants to know.
		b.log.Warn().Str("component", "badger").Msgf(strings.TrimSpace(f)+"; deleting it", a...)
		return
	}
	b.log.Debug().Str("component", "badger").Msgf(f, a...)
}
