// Package exposition writes the Prometheus text exposition format (0.0.4)
// by hand: a family's HELP and TYPE lines, then its samples. The hub and
// its MQTT adapter each write their own metrics with it into one /metrics
// answer; docs/operations.md says why there is no client library.
package exposition

import (
	"bufio"
	"strconv"
)

// Writer writes metric families and samples to a buffered writer; the
// caller flushes it.
type Writer struct{ w *bufio.Writer }

// NewWriter returns a Writer onto w.
func NewWriter(w *bufio.Writer) *Writer { return &Writer{w: w} }

// Family writes the HELP and TYPE lines of a metric family.
func (e *Writer) Family(name, typ, help string) {
	e.w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// Sample writes one sample; labels is the text between the braces
// (`code="denied"`), empty for none.
func (e *Writer) Sample(name, labels string, v float64) {
	e.w.WriteString(name)
	if labels != "" {
		e.w.WriteString("{" + labels + "}")
	}
	e.w.WriteByte(' ')
	e.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	e.w.WriteByte('\n')
}

// One writes a family of one unlabelled sample.
func (e *Writer) One(name, typ, help string, v float64) {
	e.Family(name, typ, help)
	e.Sample(name, "", v)
}
