package wot_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// exampleHub starts an in-process hub for an example and returns its URL
// and a function that stops it. Outside the examples, run "wotmq serve".
func exampleHub() (string, func()) {
	dir, err := os.MkdirTemp("", "wotmq-example")
	if err != nil {
		log.Fatal(err)
	}
	h, err := hub.New(hub.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", TLSAddr: "off", WSSAddr: "off", DataDir: dir, Dev: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return "mqtt://" + h.MQTTAddr(), func() { h.Close(); os.RemoveAll(dir) }
}

// exampleLamp exposes a small lamp and returns its agent's client.
func exampleLamp(ctx context.Context, url string) *wot.Client {
	agent, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "lamp-agent"})
	if err != nil {
		log.Fatal(err)
	}
	lamp, err := agent.Produce(wot.NewThing("urn:dev:ops:lamp-1", "Lamp").
		Property("brightness", td.DataSchema{Type: td.TypeInteger}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("fade", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		TD())
	if err != nil {
		log.Fatal(err)
	}
	lamp.HandleAction("fade", wot.ActionFunc(func(ctx context.Context, to int) (int, error) {
		req := wot.RequestFromContext(ctx)
		if err := req.Progress(ctx, to/2); err != nil {
			return 0, err
		}
		return to, lamp.UpdateProperty(ctx, "brightness", to)
	}))
	lamp.HandleWrite("brightness", func(ctx context.Context, req *wot.Request) (any, error) {
		return nil, nil // accept: the SDK reports the written value
	})
	if err := lamp.Expose(ctx); err != nil {
		log.Fatal(err)
	}
	if err := lamp.UpdateProperty(ctx, "brightness", 50); err != nil {
		log.Fatal(err)
	}
	return agent
}

// An agent exposes a Thing; a consumer finds it and uses it.
func Example() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()

	// The agent side: a lamp with a property, an event and an action.
	agent, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "lamp-agent"})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close(ctx)
	lamp, err := agent.Produce(wot.NewThing("urn:dev:ops:lamp-1", "Lamp").
		Property("brightness", td.DataSchema{Type: td.TypeInteger}).
		Action("fade", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		TD())
	if err != nil {
		log.Fatal(err)
	}
	lamp.HandleAction("fade", wot.ActionFunc(func(ctx context.Context, to int) (int, error) {
		return to, lamp.UpdateProperty(ctx, "brightness", to)
	}))
	if err := lamp.Expose(ctx); err != nil {
		log.Fatal(err)
	}

	// The consumer side: find the twin and invoke its action.
	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:lamp-1")
	if err != nil {
		log.Fatal(err)
	}
	var level int
	if err := twin.InvokeAction(ctx, "fade", 30, &level); err != nil {
		log.Fatal(err)
	}
	var brightness int
	if err := twin.ReadProperty(ctx, "brightness", &brightness); err != nil {
		log.Fatal(err)
	}
	fmt.Println(twin.TD().Title, level, brightness)
	// Output: Lamp 30 30
}

func ExampleConnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wot.Connect(ctx, wot.Options{
		URL:           "mqtts://hub.example.com:8883", // or mqtt://, ws://host/mqtt, wss://
		TLSConfig:     &tls.Config{ServerName: "hub.example.com"},
		ClientID:      "lamp-agent", // an agent's ID: its username, else its client ID
		Username:      "lamp-agent",
		Password:      os.Getenv("WOTMQ_PASSWORD"),
		SessionExpiry: time.Hour, // keep replies and events across short outages
		OnConnect:     func() { log.Print("connected; subscriptions restored") },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(context.Background())
}

func ExampleClient_Produce() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent, err := wot.Connect(ctx, wot.Options{URL: url, ClientID: "gateway"})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close(ctx)

	// One agent may expose many Things, e.g. the devices behind a gateway.
	for _, id := range []string{"urn:dev:sensor-1", "urn:dev:sensor-2"} {
		sensor, err := agent.Produce(wot.NewThing(id, "Sensor").
			Property("temperature", td.DataSchema{Type: td.TypeNumber, ReadOnly: true}).
			SafeAction("calibrate", nil, nil).
			TD())
		if err != nil {
			log.Fatal(err)
		}
		sensor.HandleAction("calibrate", func(ctx context.Context, req *wot.Request) (any, error) {
			if req.Sender == "" {
				return nil, wot.Errorf(wot.CodeDenied, "who are you?")
			}
			return nil, nil
		})
		if err := sensor.Expose(ctx); err != nil {
			log.Fatal(err)
		}
		if err := sensor.UpdateProperty(ctx, "temperature", 21.5); err != nil {
			log.Fatal(err)
		}
		if err := sensor.SetPresence(ctx, wot.PresenceSleeping); err != nil {
			log.Fatal(err)
		}
	}
	things, err := agent.Things(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range things {
		fmt.Println(t.ID, t.Title)
	}
	// Output:
	// urn:dev:sensor-1 Sensor
	// urn:dev:sensor-2 Sensor
}

func ExampleConsumedThing_InvokeActionAsync() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent := exampleLamp(ctx, url)
	defer agent.Close(ctx)

	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:lamp-1")
	if err != nil {
		log.Fatal(err)
	}
	inv, err := twin.InvokeActionAsync(ctx, "fade", 80)
	if err != nil {
		log.Fatal(err)
	}
	for u := range inv.Updates() {
		fmt.Println(u.Status, string(u.Payload), u.Err)
	}
	// Output:
	// delivered  <nil>
	// running 40 <nil>
	// completed 80 <nil>
}

func ExampleConsumedThing_InvokeAction_errors() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent := exampleLamp(ctx, url)
	defer agent.Close(ctx)
	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:lamp-1")
	if err != nil {
		log.Fatal(err)
	}
	err = twin.InvokeAction(ctx, "fade", "bright", nil)
	var we *wot.Error
	if errors.Is(err, wot.ErrInvalidInput) && errors.As(err, &we) {
		fmt.Println(we.Code)
	}
	// Output: invalid_payload
}

func ExampleConsumedThing_ObserveProperty() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent := exampleLamp(ctx, url)
	defer agent.Close(ctx)
	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:lamp-1")
	if err != nil {
		log.Fatal(err)
	}
	values := make(chan string, 4)
	sub, err := twin.ObserveProperty(ctx, "brightness", func(m wot.Message) {
		values <- fmt.Sprintf("%s by %s", m.Payload, m.Sender)
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Stop(ctx)
	fmt.Println(<-values) // the current value
	if err := twin.WriteProperty(ctx, "brightness", 70); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-values)
	// Output:
	// 50 by lamp-agent
	// 70 by lamp-agent
}

func ExampleClient_WatchThings() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	seen := make(chan string, 4)
	sub, err := app.WatchThings(ctx, func(id string, t *td.Thing) {
		if t == nil {
			seen <- id + " deleted"
			return
		}
		seen <- id + " " + t.Title
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Stop(ctx)
	agent := exampleLamp(ctx, url)
	defer agent.Close(ctx)
	fmt.Println(<-seen)
	// Output: urn:dev:ops:lamp-1 Lamp
}

func ExampleConsumedThing_History() {
	url, stop := exampleHub()
	defer stop()
	ctx := context.Background()
	agent := exampleLamp(ctx, url)
	defer agent.Close(ctx)
	app, err := wot.Connect(ctx, wot.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close(ctx)
	twin, err := app.Thing(ctx, "urn:dev:ops:lamp-1")
	if err != nil {
		log.Fatal(err)
	}
	page, err := twin.PropertyHistory(ctx, "brightness", wot.HistoryQuery{Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range page.Items {
		fmt.Println(it.Kind, it.Name, string(it.Value), it.Sender)
	}
	// Output: property brightness 50 lamp-agent
}
