package exposition_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/wotmq/wotmq/exposition"
)

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	e := exposition.NewWriter(bw)
	e.Family("wotmq_refused_total", "counter", "Refusals.")
	e.Sample("wotmq_refused_total", `code="denied"`, 3)
	e.One("wotmq_things", "gauge", "Things.", 0.5)
	bw.Flush()
	want := "# HELP wotmq_refused_total Refusals.\n# TYPE wotmq_refused_total counter\n" +
		"wotmq_refused_total{code=\"denied\"} 3\n" +
		"# HELP wotmq_things Things.\n# TYPE wotmq_things gauge\nwotmq_things 0.5\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
