package td

import (
	"strconv"
	"strings"
	"testing"
)

// hotBenchEventSchema is the event data schema of the Thing that make
// bench's agents register (loadtest.benchTD).
const hotBenchEventSchema = `{"type":"object","properties":{"seq":{"type":"integer"},"ts":{"type":"integer"},` +
	`"m":{"type":"integer"},"pad":{"type":"string"}}}`

// hotBenchEvent is an event payload of make bench's shape, size bytes long:
// {"seq":N,"ts":N,"m":1,"pad":"xxx"}.
func hotBenchEvent(size int) []byte {
	head := `{"seq":123456,"ts":` + strconv.Itoa(1763750000000000000) + `,"m":1,"pad":"`
	return []byte(head + strings.Repeat("x", max(size-len(head)-2, 0)) + `"}`)
}

// BenchmarkHotValidateEvent validates an event of make bench (64 B and 1
// KiB) against its schema: the hub's validation of every event an agent
// publishes.
func BenchmarkHotValidateEvent(b *testing.B) {
	s := parseSchema(b, hotBenchEventSchema)
	for _, size := range []int{64, 1024} {
		payload := hotBenchEvent(size)
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.ValidateJSON(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
