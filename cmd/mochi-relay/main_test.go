package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

func TestRelayRelaysEverything(t *testing.T) {
	m := &Main{Addr: "127.0.0.1:0", BufferSize: 4096}
	if err := m.Run(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got := make(chan *paho.Publish, 1)
	dial := func(id string) *paho.Client {
		conn, err := net.Dial("tcp", m.Address())
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { got <- pr.Packet; return true, nil },
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true}); err != nil {
			t.Fatalf("connect %s: %v", id, err)
		}
		t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
		return c
	}
	sub, pub := dial("sub"), dial("pub")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "any/+/topic", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "any/thing/topic", QoS: 1, Payload: []byte("x"),
		Properties: &paho.PublishProperties{ResponseTopic: "replies/pub", CorrelationData: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p.Payload) != "x" || p.Properties.ResponseTopic != "replies/pub" {
			t.Fatalf("got %+v", p)
		}
	case <-ctx.Done():
		t.Fatal("nothing relayed")
	}
}

func TestRelayRefusesBusyAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := &Main{Addr: l.Addr().String()}
	if err := m.Run(); err == nil {
		m.Close()
		t.Fatal("listening on a busy address succeeded")
	}
}
