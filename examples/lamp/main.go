// Command lamp is a simulated dimmable lamp: a wotmq agent, written with
// the Go SDK (package wot), that exposes one Thing through the hub.
//
// It describes the lamp with wot.NewThing, registers a handler per action
// and per writable property, exposes the Thing (the hub publishes its twin
// TD), reports its property values and emits an "overheating" event every
// few seconds. The SDK reconnects by itself and publishes the TD again
// when the connection comes back. See README.md beside this file.
//
//	go run ./examples/lamp -broker mqtt://127.0.0.1:1883 -agent lamp-agent -id urn:dev:ops:lamp-1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// config is what the flags set.
type config struct {
	Broker     string        // hub URL: mqtt://, mqtts://, ws:// or wss://
	Username   string        // MQTT credentials; none on a hub started with --dev
	Password   string        //
	Agent      string        // MQTT client ID; the agent ID too unless Username is set
	ThingID    string        // the ID of the Thing we expose
	EventEvery time.Duration // how often the lamp overheats
	FadeStep   time.Duration // the time one of the fade's five steps takes
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", wot.DefaultURL, "hub URL (mqtt://, mqtts://, ws://, wss://)")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password or access token (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Agent, "agent", "lamp-agent", "MQTT client ID (the agent ID when there is no username)")
	flag.StringVar(&cfg.ThingID, "id", "urn:dev:ops:lamp-1", "Thing ID of the lamp")
	flag.DurationVar(&cfg.EventEvery, "event-every", 3*time.Second, "interval between overheating events")
	flag.DurationVar(&cfg.FadeStep, "fade-step", 200*time.Millisecond, "duration of one of the five fade steps")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lamp:", err)
		os.Exit(1)
	}
}

// lampTD describes the lamp. It has no forms: the hub writes them into the
// twin TD that consumers read.
func lampTD(id string) *td.Thing {
	percent := &td.DataSchema{Type: td.TypeInteger, Minimum: ptr(0.0), Maximum: ptr(100.0), Unit: "percent"}
	return wot.NewThing(id, "Dimmable lamp").
		Description("A simulated lamp from the wotmq examples").
		Property("on", td.DataSchema{Type: td.TypeBoolean}).
		Property("brightness", *percent).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber, Unit: "celsius"}).
		Action("toggle", nil, &td.DataSchema{Type: td.TypeBoolean}).
		Action("fade", &td.DataSchema{
			Type:       td.TypeObject,
			Properties: map[string]*td.DataSchema{"to": percent},
			Required:   []string{"to"},
		}, percent).
		TD()
}

// lamp is the simulated device. Handlers run concurrently, each on a
// goroutine of its own, so its state has a lock.
type lamp struct {
	thing *wot.ExposedThing
	cfg   config
	log   *logger

	mu         sync.Mutex
	on         bool
	brightness int
}

// run exposes the lamp and runs it until ctx is done.
func run(ctx context.Context, cfg config, out io.Writer) error {
	log := &logger{w: out}
	log.printf("connecting to %s as agent %s", cfg.Broker, cfg.Agent)
	var connections atomic.Int32
	c, err := wot.Connect(ctx, wot.Options{
		URL:      cfg.Broker,
		ClientID: cfg.Agent,
		Username: cfg.Username,
		Password: cfg.Password,
		OnConnectionLost: func() {
			log.printf("connection lost; reconnecting")
		},
		OnConnect: func() {
			if connections.Add(1) > 1 {
				log.printf("reconnected; TD published again")
			}
		},
	})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())

	thing, err := c.Produce(lampTD(cfg.ThingID))
	if err != nil {
		return err
	}
	l := &lamp{thing: thing, cfg: cfg, log: log, brightness: 50}

	// Handlers first, then Expose: no request finds the lamp without one.
	thing.HandleAction("toggle", l.toggle)
	thing.HandleAction("fade", wot.ActionFunc(l.fade))
	thing.HandleWrite("on", l.writeOn)
	thing.HandleWrite("brightness", l.writeBrightness)
	if err := thing.Expose(ctx); err != nil {
		return err
	}
	log.printf("exposed %s as agent %s", cfg.ThingID, c.AgentID())
	// The reported state: the hub keeps it and serves it retained. The
	// lock keeps a request that arrives meanwhile from reporting first.
	l.mu.Lock()
	err = thing.UpdateProperties(ctx, map[string]any{"on": l.on, "brightness": l.brightness})
	log.printf("property on = %v, brightness = %d", l.on, l.brightness)
	l.mu.Unlock()
	if err != nil {
		return err
	}

	every := cfg.EventEvery
	if every <= 0 {
		every = 3 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.printf("stopping")
			return nil
		case <-tick.C:
			celsius := math.Round((40+50*rand.Float64())*10) / 10
			if err := thing.PublishEvent(ctx, "overheating", celsius); err != nil {
				log.printf("event overheating: %v", err) // e.g. the hub is away: the next one may pass
				continue
			}
			log.printf("event overheating %.1f", celsius)
		}
	}
}

// toggle switches the lamp; its output is the new state. It reports the
// new value under the lock, so the hub gets values in the order they
// changed.
func (l *lamp) toggle(ctx context.Context, req *wot.Request) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = !l.on
	l.log.printf("toggle from %s: on = %v", req.Sender, l.on)
	return l.on, l.thing.UpdateProperty(ctx, "on", l.on)
}

// fadeInput is the input of fade; the hub has checked it against the TD.
type fadeInput struct {
	To int `json:"to"`
}

// fade moves the brightness to the target in five steps, reporting each
// step as progress (status running); its output is the final brightness.
func (l *lamp) fade(ctx context.Context, in fadeInput) (int, error) {
	req := wot.RequestFromContext(ctx)
	l.log.printf("fade from %s: to %d", req.Sender, in.To)
	l.mu.Lock()
	from := l.brightness
	l.mu.Unlock()
	const steps = 5
	level := from
	for i := 1; i <= steps; i++ {
		select {
		case <-time.After(l.cfg.FadeStep): // the lamp takes its time
		case <-ctx.Done(): // cancelled, expired, or the lamp stops
			return 0, ctx.Err()
		}
		level = from + (in.To-from)*i/steps
		l.mu.Lock()
		l.brightness = level
		err := l.thing.UpdateProperty(ctx, "brightness", level)
		l.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if i < steps {
			if err := req.Progress(ctx, level); err != nil {
				return 0, err
			}
		}
	}
	l.log.printf("fade done: brightness = %d", level)
	return level, nil
}

// writeOn applies a write of "on" (the desired state). Returning nil
// reports the value asked for as the new value.
func (l *lamp) writeOn(ctx context.Context, req *wot.Request) (any, error) {
	var on bool
	if err := req.Decode(&on); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.on = on
	l.mu.Unlock()
	l.log.printf("write from %s: on = %v", req.Sender, on)
	return nil, nil
}

// writeBrightness applies a write of "brightness".
func (l *lamp) writeBrightness(ctx context.Context, req *wot.Request) (any, error) {
	var b int
	if err := req.Decode(&b); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.brightness = b
	l.mu.Unlock()
	l.log.printf("write from %s: brightness = %d", req.Sender, b)
	return nil, nil
}

func ptr[T any](v T) *T { return &v }

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
