// Command consumer is a wotmq consumer written with the Go SDK (package
// wot): it watches the hub's directory and uses one Thing through its twin
// Thing Description, the way any WoT consumer would.
//
// It prints every Thing the directory holds or gains. When the target
// Thing is there, it builds a consumed Thing from its twin TD (whose forms
// name the topics: the consumer hard-codes none), prints its property
// values and events as they come, and invokes its toggle action once,
// printing each status and the output. It exits after -duration. See
// README.md beside this file.
//
//	go run ./examples/consumer -broker mqtt://127.0.0.1:1883 -thing urn:dev:ops:lamp-1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
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
	ID       string        // MQTT client ID
	ThingID  string        // the Thing to use
	Action   string        // the action to invoke once
	Duration time.Duration // how long to run
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", wot.DefaultURL, "hub URL (mqtt://, mqtts://, ws://, wss://)")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password or access token (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.ID, "id", "consumer-1", "MQTT client ID")
	flag.StringVar(&cfg.ThingID, "thing", "urn:dev:ops:lamp-1", "ID of the Thing to use")
	flag.StringVar(&cfg.Action, "action", "toggle", "action to invoke once (\"\" for none)")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

// run runs the consumer until cfg.Duration has passed or ctx is done.
func run(ctx context.Context, cfg config, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	log := &logger{w: out}

	c, err := wot.Connect(ctx, wot.Options{URL: cfg.Broker, ClientID: cfg.ID, Username: cfg.Username, Password: cfg.Password})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	log.printf("connected to %s as %s", cfg.Broker, c.ClientID())

	// The directory: every twin TD now, then every change. The handler
	// runs on the subscription's goroutine; it only prints and signals.
	found := make(chan struct{}, 1)
	dir, err := c.WatchThings(ctx, func(id string, t *td.Thing) {
		if t == nil {
			log.printf("deleted %s", id)
			return
		}
		log.printf("discovered %s %q: %s", id, t.Title, summary(t))
		if id == cfg.ThingID {
			select {
			case found <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		return err
	}
	defer dir.Stop(context.Background())

	select {
	case <-found:
	case <-ctx.Done():
		log.printf("%s did not show up; done", cfg.ThingID)
		return nil
	}

	// The consumed Thing: its methods use the topics of the twin TD's forms.
	thing, err := c.Thing(ctx, cfg.ThingID)
	if err != nil {
		return err
	}
	if _, err := thing.ObserveAllProperties(ctx, func(m wot.Message) {
		log.printf("property %s = %s", m.Name, m.Payload)
	}); err != nil {
		return err
	}
	if _, err := thing.SubscribeAllEvents(ctx, func(m wot.Message) {
		log.printf("event %s: %s", m.Name, m.Payload)
	}); err != nil {
		return err
	}

	var wg sync.WaitGroup // the goroutine that prints the statuses
	if cfg.Action != "" {
		// InvokeActionAsync returns once the hub stored the request; the
		// statuses follow on Updates, which closes after the final one.
		// The invocation lasts until ctx's deadline at most.
		inv, err := thing.InvokeActionAsync(ctx, cfg.Action, nil)
		if err != nil {
			return err
		}
		log.printf("invoked %s", cfg.Action)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range inv.Updates() {
				switch {
				case u.Status == wot.StatusCompleted && len(u.Payload) == 0:
					log.printf("%s: completed (no output)", cfg.Action)
				case u.Status == wot.StatusCompleted:
					log.printf("%s: completed, output %s", cfg.Action, u.Payload)
				case u.Err != nil:
					log.printf("%s: failed: %v", cfg.Action, u.Err)
				case len(u.Payload) > 0:
					log.printf("%s: %s %s", cfg.Action, u.Status, u.Payload)
				default:
					log.printf("%s: %s", cfg.Action, u.Status)
				}
			}
		}()
	}

	<-ctx.Done()
	wg.Wait() // an invocation still running ends with ctx: it prints why
	log.printf("done")
	return nil
}

// summary lists a TD's affordances by kind, names sorted.
func summary(t *td.Thing) string {
	return fmt.Sprintf("properties [%s], actions [%s], events [%s]",
		names(t.Properties), names(t.Actions), names(t.Events))
}

func names[V any](m map[string]V) string {
	var s []string
	for n := range m {
		s = append(s, n)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// logger writes whole lines; subscription handlers print from their own
// goroutines.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
