// Command gateway is a simulated gateway: one wotmq agent (one MQTT
// connection) fronting three battery-powered sensors, each exposed as a
// Thing of its own with its own TD, written with the Go SDK (package wot).
//
// The hub follows the gateway's own connection; only the gateway knows
// whether each sensor behind it is reachable, so it reports each one's
// presence with SetPresence:
//
//   - sensor-1 is mains-powered: always online, a reading every period;
//   - sensor-2 sleeps to save its battery: it wakes every third period,
//     sends a reading and sleeps again (presence online, then sleeping);
//   - sensor-3 drops out of radio range after its third reading (lost).
//
// Each sensor has an action, identify (blink its LED): an awake sensor
// does it at once; for a sleeping one the gateway reports the request as
// waiting and completes it when the sensor wakes; a lost one fails it.
// See README.md beside this file.
//
//	go run ./examples/gateway -broker mqtt://127.0.0.1:1883 -agent gw-1
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// config is what the flags set.
type config struct {
	Broker   string // hub URL: mqtt://, mqtts://, ws:// or wss://
	Username string // MQTT credentials; none on a hub started with --dev
	Password string
	Agent    string        // MQTT client ID; the agent ID too unless Username is set
	Period   time.Duration // how often the sensors are polled

	ticks <-chan time.Time // tests poll on these instead of every Period
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", wot.DefaultURL, "hub URL (mqtt://, mqtts://, ws://, wss://)")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password or access token (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Agent, "agent", "gw-1", "MQTT client ID (the agent ID when there is no username); the sensors are urn:dev:AGENT:sensor-N")
	flag.DurationVar(&cfg.Period, "period", 2*time.Second, "how often the gateway polls its sensors")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// sensor is one simulated device behind the gateway.
type sensor struct {
	name  string // sensor-N
	thing *wot.ExposedThing
	log   *logger
	// reach says how the device is at poll n (0, 1, ...).
	reach func(n int) wot.Presence
	base  float64 // its usual temperature
	// reported is the presence the hub has (only the poll loop uses it).
	reported wot.Presence

	mu       sync.Mutex
	presence wot.Presence  // the device's, as of the last poll
	woke     chan struct{} // closed when the sensor is next online
}

// sensorTD describes one sensor; the hub writes its forms.
func sensorTD(id, title string) *td.Thing {
	return wot.NewThing(id, title).
		Description("A simulated sensor behind the wotmq example gateway").
		Property("temperature", td.DataSchema{Type: td.TypeNumber, Unit: "celsius", ReadOnly: true}).
		Action("identify", nil, nil).
		TD()
}

// run exposes the sensors and polls them every cfg.Period until ctx is
// done.
func run(ctx context.Context, cfg config, out io.Writer) error {
	log := &logger{w: out}
	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: cfg.Agent, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	log.printf("connected to %s as agent %s", cfg.Broker, c.AgentID())

	sensors := []*sensor{
		{name: "sensor-1", base: 21, reach: func(int) wot.Presence { return wot.PresenceOnline }},
		{name: "sensor-2", base: 18, reach: func(n int) wot.Presence {
			if n%3 == 0 {
				return wot.PresenceOnline
			}
			return wot.PresenceSleeping
		}},
		{name: "sensor-3", base: 25, reach: func(n int) wot.Presence {
			if n < 3 {
				return wot.PresenceOnline
			}
			return wot.PresenceLost
		}},
	}
	// One Client, one Produce and one TD per sensor.
	for i, s := range sensors {
		id := fmt.Sprintf("urn:dev:%s:%s", cfg.Agent, s.name)
		if s.thing, err = c.Produce(sensorTD(id, fmt.Sprintf("Sensor %d", i+1))); err != nil {
			return err
		}
		s.log = log
		s.woke = make(chan struct{})
		s.thing.HandleAction("identify", s.identify)
		if err := s.thing.Expose(ctx); err != nil {
			return err
		}
		log.printf("exposed %s", id)
	}

	ticks := cfg.ticks
	if ticks == nil {
		tick := time.NewTicker(cmp.Or(cfg.Period, 2*time.Second))
		defer tick.Stop()
		ticks = tick.C
	}
	for n := 0; ; n++ {
		for _, s := range sensors {
			if err := s.poll(ctx, n); err != nil && ctx.Err() == nil {
				log.printf("%s: %v", s.name, err) // e.g. the hub is away: the next poll may pass
			}
		}
		select {
		case <-ctx.Done():
			log.printf("stopping")
			return nil
		case <-ticks:
		}
	}
}

// poll reports the sensor's presence when it changed and, when it is
// online, its reading.
func (s *sensor) poll(ctx context.Context, n int) error {
	p := s.reach(n)
	s.mu.Lock()
	if p == wot.PresenceOnline && s.presence != p {
		close(s.woke) // identify requests waiting for it go ahead
		s.woke = make(chan struct{})
	}
	s.presence = p
	s.mu.Unlock()
	if p != s.reported {
		if err := s.thing.SetPresence(ctx, p); err != nil {
			return err // reported again at the next poll
		}
		s.reported = p
		s.log.printf("%s is %s", s.name, p)
	}
	if p != wot.PresenceOnline {
		return nil
	}
	celsius := math.Round((s.base+2*rand.Float64()-1)*10) / 10
	if err := s.thing.UpdateProperty(ctx, "temperature", celsius); err != nil {
		return err
	}
	s.log.printf("%s: temperature %.1f", s.name, celsius)
	return nil
}

// identify blinks the sensor's LED: now when it is online, when it wakes
// when it sleeps (the consumer sees status waiting meanwhile), never when
// it is lost.
func (s *sensor) identify(ctx context.Context, req *wot.Request) (any, error) {
	s.mu.Lock()
	p, woke := s.presence, s.woke
	s.mu.Unlock()
	switch p {
	case wot.PresenceLost:
		return nil, wot.Errorf(wot.CodeOffline, "%s is out of reach", s.name)
	case wot.PresenceSleeping:
		s.log.printf("%s: identify from %s waits until it wakes", s.name, req.Sender)
		if err := req.Waiting(ctx, "asleep"); err != nil {
			return nil, err
		}
		select {
		case <-woke:
		case <-ctx.Done(): // cancelled, expired, or the gateway stops
			return nil, ctx.Err()
		}
	}
	s.log.printf("%s: blink (identify from %s)", s.name, req.Sender)
	return nil, nil
}

// logger writes whole lines; handlers print from their own goroutines.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
