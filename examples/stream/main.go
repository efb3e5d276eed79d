// Command stream streams sensor readings at 1 kHz over a real-time channel:
// a WebRTC DataChannel between a consumer and the sensor's agent, opened
// through a wotmq hub (package wot/rtc). The hub introduces the two and
// steps aside; the readings go peer to peer.
//
// By default one process runs both sides, as two clients of the hub:
//
//	go run ./examples/stream -broker 127.0.0.1:1883 -id urn:dev:ops:sensor-1
//
// or, in two processes (or on two machines), -role sensor and -role
// consumer. -loopback keeps the channel on the loopback interface (both
// ends on this machine, or a machine without a network). See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

// config is what the flags set.
type config struct {
	Broker   string // the hub's MQTT address
	ThingID  string // the sensor's Thing ID
	Role     string // sensor, consumer or both
	Rate     int    // readings per second
	Count    int    // the consumer stops after this many readings (0: never)
	Loopback bool   // loopback candidates only
}

// Reading is one message on the channel.
type Reading struct {
	Seq   uint64  `json:"seq"`
	Time  int64   `json:"t"` // when the sensor took it, Unix microseconds
	Value float64 `json:"v"`
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", "127.0.0.1:1883", "hub MQTT address (host:port or mqtt:// URL)")
	flag.StringVar(&cfg.ThingID, "id", "urn:dev:ops:sensor-1", "Thing ID of the sensor")
	flag.StringVar(&cfg.Role, "role", "both", "sensor, consumer, or both in one process")
	flag.IntVar(&cfg.Rate, "rate", 1000, "readings per second")
	flag.IntVar(&cfg.Count, "count", 5000, "readings the consumer takes before it stops (0: until interrupted)")
	flag.BoolVar(&cfg.Loopback, "loopback", false, "use loopback network candidates only (both ends on this machine)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

// run runs the roles cfg asks for until ctx ends or the consumer has its
// readings.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.Rate <= 0 {
		return fmt.Errorf("-rate %d: want a positive rate", cfg.Rate)
	}
	opts := rtc.Options{Loopback: cfg.Loopback}
	switch cfg.Role {
	case "sensor":
		return runSensor(ctx, cfg, opts, out, nil)
	case "consumer":
		return consume(ctx, cfg, opts, out)
	case "both":
	default:
		return fmt.Errorf("-role %q: want sensor, consumer or both", cfg.Role)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	sensorDone := make(chan error, 1)
	go func() { sensorDone <- runSensor(ctx, cfg, opts, out, ready) }()
	select {
	case <-ready:
	case err := <-sensorDone:
		return err
	}
	err := consume(ctx, cfg, opts, out)
	cancel()
	return errors.Join(err, <-sensorDone)
}

// consume runs the consumer; readings out of order are an error (the
// channel is ordered and reliable).
func consume(ctx context.Context, cfg config, opts rtc.Options, out io.Writer) error {
	st, err := runConsumer(ctx, cfg, opts, out)
	if err == nil && st.OutOfOrder > 0 {
		err = fmt.Errorf("%d of %d readings out of order", st.OutOfOrder, st.Received)
	}
	return err
}

// runSensor exposes the sensor and streams readings to every consumer that
// opens a channel to it, until ctx ends. ready, if not nil, is closed once
// the sensor is exposed.
func runSensor(ctx context.Context, cfg config, opts rtc.Options, out io.Writer, ready chan<- struct{}) error {
	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: "stream-sensor"})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	thing, err := c.Produce(wot.NewThing(cfg.ThingID, "Vibration sensor").
		Property("rate", td.DataSchema{Type: td.TypeInteger, Description: "readings per second on a channel"}).
		TD())
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup // the streams
		stopped bool
	)
	defer func() { // after l.Close below, which closes the channels
		mu.Lock()
		stopped = true
		mu.Unlock()
		wg.Wait()
	}()
	l, err := rtc.Serve(thing, opts, func(ch *rtc.Channel) {
		mu.Lock()
		if stopped {
			mu.Unlock()
			ch.Close()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		fmt.Fprintf(out, "sensor: %s opened channel %q; streaming %d readings/s\n", ch.Peer(), ch.Label(), cfg.Rate)
		n, err := stream(ctx, ch, cfg.Rate)
		fmt.Fprintf(out, "sensor: channel to %s closed after %d readings (%v)\n", ch.Peer(), n, err)
	})
	if err != nil {
		return err
	}
	defer l.Close()
	if err := thing.Expose(ctx); err != nil {
		return err
	}
	if err := thing.UpdateProperty(ctx, "rate", cfg.Rate); err != nil {
		return err
	}
	fmt.Fprintf(out, "sensor: %s exposed; waiting for channels\n", cfg.ThingID)
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	return nil
}

// stream sends readings at rate per second until the channel or ctx ends.
// A reading is due every 1/rate s: when the ticker falls behind (a busy
// machine), the readings due are sent at once, so the rate holds on
// average.
func stream(ctx context.Context, ch *rtc.Channel, rate int) (uint64, error) {
	period := time.Second / time.Duration(rate)
	tick := time.NewTicker(period)
	defer tick.Stop()
	start := time.Now()
	var seq uint64
	for {
		select {
		case <-ctx.Done():
			ch.Close()
			return seq, ctx.Err()
		case <-ch.Done():
			return seq, rtc.ErrClosed
		case now := <-tick.C:
			for due := uint64(now.Sub(start) / period); seq < due; {
				seq++
				r := Reading{Seq: seq, Time: time.Now().UnixMicro(), Value: math.Sin(float64(seq) / 50)}
				if err := ch.SendJSON(r); err != nil {
					return seq - 1, err
				}
			}
		}
	}
}

// Stats is what the consumer saw.
type Stats struct {
	Received   int
	OutOfOrder int           // readings whose seq was not the one after the previous
	Latency    time.Duration // median, sensor to consumer (meaningful on one machine)
}

// runConsumer opens a channel to the sensor and takes readings until it has
// cfg.Count of them or ctx ends. It waits for a sensor that is not there
// yet.
func runConsumer(ctx context.Context, cfg config, opts rtc.Options, out io.Writer) (Stats, error) {
	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: "stream-consumer"})
	if err != nil {
		return Stats{}, err
	}
	defer c.Close(context.Background())
	var ch *rtc.Channel
	for {
		start := time.Now()
		ch, err = rtc.Open(ctx, c, cfg.ThingID, "readings", opts)
		if err == nil {
			fmt.Fprintf(out, "consumer: channel to %s open in %v\n", cfg.ThingID, time.Since(start).Round(time.Millisecond/10))
			break
		}
		if !errors.Is(err, wot.ErrNotFound) && !errors.Is(err, wot.ErrOffline) {
			return Stats{}, err // ErrSetupTimeout says to use hub messaging
		}
		fmt.Fprintf(out, "consumer: %v; trying again in a second\n", err)
		select {
		case <-ctx.Done():
			return Stats{}, nil
		case <-time.After(time.Second):
		}
	}
	defer ch.Close()

	var (
		mu      sync.Mutex
		st      Stats
		last    uint64
		lats    []time.Duration
		perSec  int
		enough  = make(chan struct{})
		decodeE error
	)
	ch.OnMessage(func(b []byte) {
		var r Reading
		if err := json.Unmarshal(b, &r); err != nil {
			mu.Lock()
			decodeE = err
			mu.Unlock()
			return
		}
		lat := time.Since(time.UnixMicro(r.Time))
		mu.Lock()
		defer mu.Unlock()
		if cfg.Count > 0 && st.Received == cfg.Count {
			return // enough; the channel closes
		}
		if r.Seq != last+1 {
			st.OutOfOrder++
		}
		last = r.Seq
		st.Received++
		perSec++
		lats = append(lats, lat)
		if cfg.Count > 0 && st.Received == cfg.Count {
			close(enough)
		}
	})
	second := time.NewTicker(time.Second)
	defer second.Stop()
	report := func() {
		mu.Lock()
		defer mu.Unlock()
		if len(lats) > 0 {
			slices.Sort(lats)
			st.Latency = lats[len(lats)/2]
		}
		fmt.Fprintf(out, "consumer: %d readings in the last second, %d in all, last seq %d, %d out of order, latency p50 %v\n",
			perSec, st.Received, last, st.OutOfOrder, st.Latency.Round(time.Microsecond))
		perSec, lats = 0, lats[:0]
	}
	for {
		select {
		case <-second.C:
			report()
		case <-enough:
			report()
			mu.Lock()
			defer mu.Unlock()
			return st, decodeE
		case <-ch.Done():
			mu.Lock()
			defer mu.Unlock()
			return st, fmt.Errorf("the sensor closed the channel after %d readings", st.Received)
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			return st, decodeE
		}
	}
}
