package rtc

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLogs sends pion's log to an slog.Logger, a level lower than pion
// says: pion logs at error level what is routine for a channel that closes
// while it opens. Its trace and debug levels are dropped.
type pionLogs struct{ log *slog.Logger }

func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.log.With("pion", scope)}
}

type pionLogger struct{ l *slog.Logger }

func (p pionLogger) at(level slog.Level, msg string) {
	p.l.Log(context.Background(), level, msg)
}

func (p pionLogger) atf(level slog.Level, format string, args ...any) {
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (p pionLogger) Trace(string)                     {}
func (p pionLogger) Tracef(string, ...any)            {}
func (p pionLogger) Debug(string)                     {}
func (p pionLogger) Debugf(string, ...any)            {}
func (p pionLogger) Info(msg string)                  { p.at(slog.LevelDebug, msg) }
func (p pionLogger) Infof(format string, args ...any) { p.atf(slog.LevelDebug, format, args...) }
func (p pionLogger) Warn(msg string)                  { p.at(slog.LevelDebug, msg) }
func (p pionLogger) Warnf(format string, args ...any) { p.atf(slog.LevelDebug, format, args...) }
func (p pionLogger) Error(msg string)                 { p.at(slog.LevelInfo, msg) }
func (p pionLogger) Errorf(format string, args ...any) {
	p.atf(slog.LevelInfo, format, args...)
}
