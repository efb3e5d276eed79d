package rtc_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

// exampleHub starts an in-process hub for the example and returns its URL
// and a function that stops it. Outside the examples, run "wotmq serve".
func exampleHub() (string, func()) {
	dir, err := os.MkdirTemp("", "wotmq-example")
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub.New(hub.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", TLSAddr: "off", WSSAddr: "off",
		MetricsAddr: "off", DataDir: dir, Dev: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return "mqtt://" + h.MQTTAddr(), func() { h.Close(); os.RemoveAll(dir) }
}

// An agent serves channels to its Thing and echoes what it receives; a
// consumer opens a channel and sends a message and a JSON value.
func Example() {
	url, stop := exampleHub()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Both ends on this machine: loopback candidates (not needed on a
	// network).
	opts := rtc.Options{Loopback: true}

	// The agent.
	agent, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "sensor-agent"})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close(context.Background())
	thing, err := agent.Produce(wot.NewThing("urn:dev:ops:sensor-1", "Sensor").
		Property("level", td.DataSchema{Type: td.TypeNumber}).TD())
	if err != nil {
		log.Fatal(err)
	}
	l, err := rtc.Serve(thing, opts, func(ch *rtc.Channel) {
		fmt.Printf("agent: channel %q from %s\n", ch.Label(), ch.Peer())
		ch.OnMessage(func(b []byte) { ch.Send(append([]byte("echo: "), b...)) })
	})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	if err := thing.Expose(ctx); err != nil {
		log.Fatal(err)
	}

	// The consumer.
	app, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "app"})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(context.Background())
	ch, err := rtc.Open(ctx, app, "urn:dev:ops:sensor-1", "control", opts)
	if err != nil {
		log.Fatal(err) // rtc.ErrSetupTimeout: use hub messaging instead
	}
	defer ch.Close()
	replies := make(chan string)
	ch.OnMessage(func(b []byte) { replies <- string(b) })
	ch.Send([]byte("ping"))
	fmt.Println("consumer:", <-replies)
	ch.SendJSON(map[string]float64{"level": 0.5})
	fmt.Println("consumer:", <-replies)
	// Output:
	// agent: channel "control" from app
	// consumer: echo: ping
	// consumer: echo: {"level":0.5}
}
