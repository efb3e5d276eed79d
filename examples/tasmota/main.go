// Command tasmota is a simulated Tasmota smart plug: a plain MQTT client
// (paho, no wotmq code) that speaks Tasmota's topics and nothing else. The
// hub gives it a twin from its TD, plug1.td.json beside this file
// (docs/brownfield.md).
//
// Like Tasmota it says Online on tele/{name}/LWT (retained, with a Will of
// Offline), obeys cmnd/{name}/POWER (ON, OFF, TOGGLE; an empty payload
// asks for the state) and answers on stat/{name}/POWER, and sends its
// energy reading on tele/{name}/SENSOR every telemetry period.
//
//	go run ./examples/tasmota -broker mqtt://127.0.0.1:1883 -name plug1
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// config is what the flags set.
type config struct {
	Broker   string        // mqtt:// URL of the broker (the hub)
	Username string        // MQTT credentials; none on a hub started with --dev
	Password string        //
	Name     string        // Tasmota's topic: the {name} in cmnd/{name}/POWER
	Tele     time.Duration // telemetry period
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", "mqtt://127.0.0.1:1883", "MQTT broker URL")
	flag.StringVar(&cfg.Username, "username", os.Getenv("WOTMQ_USERNAME"), "MQTT username (default $WOTMQ_USERNAME)")
	flag.StringVar(&cfg.Password, "password", os.Getenv("WOTMQ_PASSWORD"), "MQTT password (default $WOTMQ_PASSWORD)")
	flag.StringVar(&cfg.Name, "name", "plug1", "the plug's topic name")
	flag.DurationVar(&cfg.Tele, "tele", 10*time.Second, "telemetry period (tele/{name}/SENSOR)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tasmota:", err)
		os.Exit(1)
	}
}

// plug is the relay and its meter.
type plug struct {
	mu    sync.Mutex
	on    bool
	total float64 // kWh
}

func (p *plug) state() string {
	if p.on {
		return "ON"
	}
	return "OFF"
}

// run connects, serves commands and sends telemetry until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) error {
	u, err := url.Parse(cfg.Broker)
	if err != nil {
		return err
	}
	var (
		pl     plug
		cm     *autopaho.ConnectionManager
		cmds   = make(chan []byte, 16)
		lwt    = "tele/" + cfg.Name + "/LWT"
		cmnd   = "cmnd/" + cfg.Name + "/POWER"
		stat   = "stat/" + cfg.Name + "/POWER"
		sensor = "tele/" + cfg.Name + "/SENSOR"
	)
	publish := func(cm *autopaho.ConnectionManager, topic, payload string, retain bool) {
		pctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := cm.Publish(pctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain}); err != nil && ctx.Err() == nil {
			fmt.Fprintf(out, "publish %s: %v\n", topic, err)
		}
	}
	cc := autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		ConnectUsername: cfg.Username, ConnectPassword: []byte(cfg.Password),
		WillMessage:      &paho.WillMessage{Topic: lwt, Payload: []byte("Offline"), QoS: 1, Retain: true},
		ReconnectBackoff: func(attempt int) time.Duration { return min(time.Duration(attempt), 1) * time.Second },
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go func() {
				// Tasmota's order: Online first, then the subscription.
				publish(cm, lwt, "Online", true)
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if _, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "cmnd/" + cfg.Name + "/#", QoS: 1}}}); err != nil {
					fmt.Fprintf(out, "subscribe: %v\n", err)
					return
				}
				pl.mu.Lock()
				s := pl.state()
				pl.mu.Unlock()
				publish(cm, stat, s, false)
				fmt.Fprintf(out, "online as %s, power %s\n", cfg.Name, s)
			}()
		},
		OnConnectError: func(err error) { fmt.Fprintf(out, "connect: %v\n", err) },
		ClientConfig: paho.ClientConfig{
			ClientID: "tasmota-" + cfg.Name,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				if pr.Packet.Topic == cmnd {
					cmds <- pr.Packet.Payload // handled below: a handler must not publish
				}
				return true, nil
			}},
		},
	}
	// The connection outlives ctx by the goodbye below.
	connCtx, connCancel := context.WithCancel(context.Background())
	defer connCancel()
	if cm, err = autopaho.NewConnection(connCtx, cc); err != nil {
		return err
	}
	fmt.Fprintf(out, "connecting to %s as plug %s\n", cfg.Broker, cfg.Name)
	tele := time.NewTicker(cfg.Tele)
	defer tele.Stop()
	for {
		select {
		case <-ctx.Done():
			// A clean disconnect sends no Will: say Offline first.
			publish(cm, lwt, "Offline", true)
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = cm.Disconnect(dctx)
			return nil
		case cmd := <-cmds:
			pl.mu.Lock()
			switch string(cmd) {
			case "ON", "1":
				pl.on = true
			case "OFF", "0":
				pl.on = false
			case "TOGGLE", "2":
				pl.on = !pl.on
			}
			s := pl.state()
			pl.mu.Unlock()
			fmt.Fprintf(out, "command %q: power %s\n", cmd, s)
			publish(cm, stat, s, false)
		case now := <-tele.C:
			pl.mu.Lock()
			watts := 0.0
			if pl.on {
				watts = 40 + 20*rand.Float64()
			}
			pl.total += watts * cfg.Tele.Hours() / 1000
			reading := map[string]any{
				"Time": now.UTC().Format("2006-01-02T15:04:05"),
				"ENERGY": map[string]any{"Total": round(pl.total, 3), "Today": round(pl.total, 3), "Power": round(watts, 1),
					"Voltage": 230, "Current": round(watts/230, 3)},
			}
			pl.mu.Unlock()
			b, _ := json.Marshal(reading)
			publish(cm, sensor, string(b), false)
		}
	}
}

func round(v float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
