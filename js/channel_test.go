package js_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/wotmq/wotmq/wot"
	"github.com/wotmq/wotmq/wot/rtc"
)

// TestBrowserChannel: WebRTC DataChannels between headless Chromium and a
// Go twin, signalled through the hub (docs/channels.md), peer to peer on
// loopback. The page opens channels to a Go agent's Thing (rtc.Serve
// echoes) and measures setup and round trip; then the Go SDK opens a
// channel (rtc.Open) to a Thing the page exposes and serves.
func TestBrowserChannel(t *testing.T) {
	bin := chromium(t)
	h := startHub(t)
	agent := connect(t, h, "go-agent")
	const echoID, tabID = "urn:dev:go:echo", "urn:dev:browser:channels"
	echo, err := agent.Produce(wot.NewThing(echoID, "Echo").TD())
	if err != nil {
		t.Fatal(err)
	}
	l, err := rtc.Serve(echo, rtc.Options{Loopback: true}, func(ch *rtc.Channel) {
		ch.OnMessage(func(b []byte) { _ = ch.Send(b) })
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := echo.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	const plainID = "urn:dev:go:plain" // takes no channels
	plain, err := agent.Produce(wot.NewThing(plainID, "Plain").TD())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Expose(ctx); err != nil {
		t.Fatal(err)
	}
	app := connect(t, h, "go-app")
	srv := servePages(t)

	page := srv.URL + "/test/browser/channel.html?" + url.Values{
		"hub": {"ws://" + h.WSAddr()}, "thing": {echoID}, "tab": {tabID}, "plain": {plainID},
	}.Encode()
	var fromGo struct {
		setup time.Duration
		rtts  []time.Duration
		err   error
	}
	res := runPages(t, bin, func(ctx context.Context) {
		fromGo.setup, fromGo.rtts, fromGo.err = openToBrowser(ctx, app, tabID)
	}, page)[0]
	if !res.OK {
		t.Fatalf("the page failed: %s (steps %v); Go to the browser: %v", res.Error, res.Steps, fromGo.err)
	}
	var got struct {
		Channel struct {
			Label, Peer       string
			Ordered, Reliable bool
		} `json:"channel"`
		SetupMs struct {
			Median float64 `json:"median"`
		} `json:"setupMs"`
		RTTMs struct {
			Median float64 `json:"median"`
			P90    float64 `json:"p90"`
		} `json:"rttMs"`
		BinaryEcho []int `json:"binaryEcho"`
		Served     struct {
			Label, Peer string
		} `json:"served"`
		ServedMessages int `json:"servedMessages"`
		Refused        struct {
			Plain, Unknown string
		} `json:"refused"`
	}
	if err := json.Unmarshal(res.raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Channel.Peer != "go-agent" || !got.Channel.Ordered || !got.Channel.Reliable {
		t.Errorf("browser's channel %+v", got.Channel)
	}
	if got.Refused.Plain != "NotFoundError:unknown_affordance" || got.Refused.Unknown != "NotFoundError:unknown_thing" {
		t.Errorf("refusals %+v", got.Refused)
	}
	if !slices.Equal(got.BinaryEcho, []int{1, 2, 3, 250}) {
		t.Errorf("binary echo %v", got.BinaryEcho)
	}
	if fromGo.err != nil {
		t.Fatalf("Go to the browser: %v", fromGo.err)
	}
	if got.Served.Label != "from-go" || got.Served.Peer != "go-app" || got.ServedMessages != 1+len(fromGo.rtts) {
		t.Errorf("the browser served %+v with %d messages", got.Served, got.ServedMessages)
	}
	t.Logf("browser -> Go: setup through the hub %.1f ms (median of 5), round trip %.3f ms (median; p90 %.3f)",
		got.SetupMs.Median, got.RTTMs.Median, got.RTTMs.P90)
	t.Logf("Go -> browser: setup through the hub %v, round trip %v (median of %d)",
		fromGo.setup.Round(time.Microsecond), medianDuration(fromGo.rtts).Round(time.Microsecond), len(fromGo.rtts))
}

// openToBrowser waits for the browser's Thing, opens a channel to it,
// checks one echo and times round trips.
func openToBrowser(ctx context.Context, c *wot.Client, id string) (time.Duration, []time.Duration, error) {
	if _, err := waitThing(ctx, c, id); err != nil {
		return 0, nil, err
	}
	start := time.Now()
	ch, err := rtc.Open(ctx, c, id, "from-go", rtc.Options{Loopback: true})
	if err != nil {
		return 0, nil, err
	}
	setup := time.Since(start)
	defer ch.Close()
	replies := make(chan []byte, 1)
	ch.OnMessage(func(b []byte) { replies <- b })
	roundTrip := func(msg string) (time.Duration, error) {
		t0 := time.Now()
		if err := ch.Send([]byte(msg)); err != nil {
			return 0, err
		}
		select {
		case b := <-replies:
			if string(b) != "pong:"+msg {
				return 0, &wot.Error{Code: wot.CodeInvalidPayload, Message: "reply " + string(b)}
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return time.Since(t0), nil
	}
	if _, err := roundTrip("ping"); err != nil {
		return 0, nil, err
	}
	var rtts []time.Duration
	for range 100 {
		d, err := roundTrip("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
		if err != nil {
			return 0, nil, err
		}
		rtts = append(rtts, d)
	}
	return setup, rtts, nil
}

func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
