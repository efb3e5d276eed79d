package wot_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// BenchmarkInvokeAction measures one action round trip at a time:
//
//   - sdk/hub: InvokeAction of this package through the hub, answered by
//     an agent of this package (what an application sees);
//   - paho/hub: the same messages with bare paho clients through the hub
//     (the hub's share);
//   - paho/mochi: paho request/response through a bare Mochi broker that
//     only relays (the floor).
//
// go test -run XXX -bench InvokeAction -benchtime 3000x ./wot/
func BenchmarkInvokeAction(b *testing.B) {
	b.Run("sdk/hub", func(b *testing.B) {
		h := startHub(b, b.TempDir(), "")
		exposeLamp(b, connect(b, hubtest.URL(h), "lamp-agent"), lampID)
		app := connect(b, hubtest.URL(h), "app")
		th, err := app.Thing(ctxT(b), lampID)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		roundTrips(b, func(i int) {
			var out int
			if err := th.InvokeAction(ctx, "echo", i, &out); err != nil || out != i {
				b.Fatalf("invoke %d: %d, %v", i, out, err)
			}
		})
	})
	b.Run("paho/hub", func(b *testing.B) {
		h := startHub(b, b.TempDir(), "")
		// Register the Thing, then let a bare paho agent with the same ID
		// take its requests.
		agent := connect(b, hubtest.URL(h), "lamp-agent")
		exposeLamp(b, agent, lampID)
		if err := agent.Close(ctxT(b)); err != nil {
			b.Fatal(err)
		}
		responder(b, h.MQTTAddr(), "lamp-agent", wot.RequestsTopic("lamp-agent"), wot.PropStatus, string(wot.StatusCompleted))
		requester(b, h.MQTTAddr(), wot.ActionTopic(lampID, "echo"),
			paho.UserProperty{Key: wot.PropReplies, Value: wot.RepliesFinal})
	})
	b.Run("paho/mochi", func(b *testing.B) {
		addr := hubtest.StartMochi(b)
		responder(b, addr, "responder", "bench/requests")
		requester(b, addr, "bench/requests")
	})
}

// roundTrips runs call b.N times and reports latency percentiles.
func roundTrips(b *testing.B, call func(i int)) {
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		t0 := time.Now()
		call(i)
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	pct := func(p int) float64 { return float64(lat[(len(lat)-1)*p/100]) / float64(time.Microsecond) }
	b.ReportMetric(pct(50), "p50-us")
	b.ReportMetric(pct(99), "p99-us")
}

// pahoDial connects a bare paho client whose messages go to onMsg (on
// paho's handler goroutine).
func pahoDial(b *testing.B, addr, id string, onMsg func(*paho.Publish)) *paho.Client {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onMsg(pr.Packet)
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		b.Fatalf("%s: connect: %v", id, err)
	}
	b.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func pahoSubscribe(b *testing.B, c *paho.Client, filter string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		b.Fatalf("subscribe %s: %v", filter, err)
	}
}

// responder answers every request on filter, echoing its payload, with
// user properties user (key, value pairs).
func responder(b *testing.B, addr, id, filter string, user ...string) {
	reqs := make(chan *paho.Publish, 64)
	c := pahoDial(b, addr, id, func(p *paho.Publish) { reqs <- p })
	pahoSubscribe(b, c, filter)
	go func() {
		for {
			select {
			case req := <-reqs:
				if req.Properties == nil || req.Properties.ResponseTopic == "" {
					continue
				}
				props := &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData}
				for i := 0; i+1 < len(user); i += 2 {
					props.User.Add(user[i], user[i+1])
				}
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				_, err := c.Publish(ctx, &paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: req.Payload, Properties: props})
				cancel()
				if err != nil {
					return
				}
			case <-c.Done():
				return
			}
		}
	}()
}

// requester makes b.N requests on topic, one at a time.
func requester(b *testing.B, addr, topic string, user ...paho.UserProperty) {
	replies := make(chan *paho.Publish, 64)
	c := pahoDial(b, addr, "requester", func(p *paho.Publish) { replies <- p })
	const replyTopic = "replies/requester"
	pahoSubscribe(b, c, replyTopic)
	timeout := time.NewTimer(testTimeout)
	defer timeout.Stop()
	roundTrips(b, func(i int) {
		corr := strconv.Itoa(i)
		props := &paho.PublishProperties{ResponseTopic: replyTopic, CorrelationData: []byte(corr), User: user}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		_, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(corr), Properties: props})
		cancel()
		if err != nil {
			b.Fatalf("request %d: %v", i, err)
		}
		timeout.Reset(testTimeout)
		select {
		case m := <-replies:
			if string(m.Properties.CorrelationData) != corr || string(m.Payload) != corr {
				b.Fatalf("request %d: reply %q %q", i, m.Properties.CorrelationData, m.Payload)
			}
		case <-timeout.C:
			b.Fatalf("request %d: no reply", i)
		}
	})
}
