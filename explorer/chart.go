package explorer

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wotmq/wotmq/wire"
)

// Chart geometry, in SVG user units (the picture scales to its box).
const (
	chartW, chartH    = 800.0, 260.0
	padLeft, padRight = 56.0, 16.0
	padTop, padBottom = 12.0, 28.0
	maxDots           = 80 // values are marked with dots when there are at most this many
	chartTicks        = 4
)

// chart is a line chart drawn on the server: the template writes it as
// SVG with presentation attributes only (no script, no inline styles).
type chart struct {
	Width, Height  float64
	Line           string // polyline points
	Dots           []dot
	Frame          box
	YTicks, XTicks []tick
	Points         int
	Min, Max       string
	Empty          bool
}

type dot struct {
	X, Y  float64
	Title string
}

type box struct{ X, Y, W, H float64 }

type tick struct {
	X, Y   float64
	Label  string
	Anchor string // text-anchor: the outer labels stay inside the picture
}

// drawChart draws the numeric values of items over [from, to).
func drawChart(items []wire.HistoryItem, from, to time.Time) *chart {
	c := &chart{Width: chartW, Height: chartH, Frame: box{padLeft, padTop, chartW - padLeft - padRight, chartH - padTop - padBottom}}
	type pt struct {
		t time.Time
		v float64
		s string
	}
	var pts []pt
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, it := range items {
		v, ok := numeric(it.Value)
		if !ok {
			continue
		}
		pts = append(pts, pt{it.Time, v, string(it.Value)})
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	c.Points = len(pts)
	if len(pts) == 0 {
		c.Empty = true
		return c
	}
	c.Min, c.Max = num(lo), num(hi)
	if lo == hi {
		lo, hi = lo-1, hi+1
	} else {
		pad := (hi - lo) * 0.05
		lo, hi = lo-pad, hi+pad
	}
	span := to.Sub(from).Seconds()
	if span <= 0 {
		span = 1
	}
	f := c.Frame
	xOf := func(t time.Time) float64 { return f.X + f.W*t.Sub(from).Seconds()/span }
	yOf := func(v float64) float64 { return f.Y + f.H*(1-(v-lo)/(hi-lo)) }
	var line strings.Builder
	for i, p := range pts {
		x, y := xOf(p.t), yOf(p.v)
		if i > 0 {
			line.WriteByte(' ')
		}
		fmt.Fprintf(&line, "%.1f,%.1f", x, y)
		if len(pts) <= maxDots {
			c.Dots = append(c.Dots, dot{X: round1(x), Y: round1(y), Title: p.t.UTC().Format("15:04:05.000") + " " + p.s})
		}
	}
	c.Line = line.String()
	for i := 0; i <= chartTicks; i++ {
		v := lo + (hi-lo)*float64(i)/chartTicks
		c.YTicks = append(c.YTicks, tick{X: f.X - 6, Y: round1(yOf(v)), Label: trimNum(v)})
		at := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / chartTicks))
		layout := "15:04:05"
		switch d := to.Sub(from); {
		case d > 24*time.Hour:
			layout = "01-02 15:04"
		case d < time.Minute:
			layout = "15:04:05.000"
		}
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case chartTicks:
			anchor = "end"
		}
		c.XTicks = append(c.XTicks, tick{X: round1(xOf(at)), Y: f.Y + f.H + 18, Label: at.UTC().Format(layout), Anchor: anchor})
	}
	return c
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// trimNum formats an axis label with at most three significant decimals.
func trimNum(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	if math.Abs(v) >= 1000 {
		s = fmt.Sprintf("%.0f", v)
	}
	return s
}
