package interop_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const (
	lampID    = "urn:dev:ops:interop-lamp"
	agentID   = "lamp-agent"
	password  = "interop test password"
	nodeLimit = 2 * time.Minute
)

// lampTD is the agent's TD: no forms (the hub writes them), one property of
// each kind, an action with input and output, an event.
const lampTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "` + lampID + `",
  "title": "Interop lamp",
  "description": "A lamp exposed by the Go agent of interop_test.go",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "properties": {
    "brightness": {"type": "integer", "minimum": 0, "maximum": 100, "unit": "percent"},
    "model": {"type": "string", "readOnly": true},
    "secret": {"type": "string", "writeOnly": true}
  },
  "actions": {
    "fade": {
      "input": {"type": "object", "properties": {"to": {"type": "integer", "minimum": 0, "maximum": 100}}, "required": ["to"]},
      "output": {"type": "integer"}
    }
  },
  "events": {
    "overheating": {"data": {"type": "number"}}
  }
}`

// node returns the node binary, or skips the test when node or the npm
// packages are missing (make test installs them).
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the node-wot and TD validator checks are skipped (install Node.js 18 or later; make test runs npm ci --prefix interop)")
	}
	for _, pkg := range []string{"@node-wot/core", "@node-wot/binding-http", "@node-wot/binding-mqtt", "@thing-description-playground/core", "@thing-description-playground/assertions"} {
		if _, err := os.Stat("node_modules/" + pkg + "/package.json"); err != nil {
			t.Skipf("interop/node_modules has no %s: run npm ci --prefix interop (make test does)", pkg)
		}
	}
	return bin
}

// startHub starts a hub (hubtest.Start) with HTTP; forms name 127.0.0.1,
// hubtest's default (node may resolve localhost to ::1).
func startHub(t *testing.T, dev bool) *hub.Hub {
	t.Helper()
	h := hubtest.Start(t, func(o *hub.Options) {
		o.HTTPAddr, o.Dev, o.PasswordCost = "127.0.0.1:0", dev, 4
		if !dev {
			o.AdminPassword = password
		}
	})
	if !dev {
		if err := h.Accounts().Add(context.Background(), agentID, authz.RoleAgent, "", password); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// runAgent connects the lamp's agent, registers the lamp and answers its
// requests until the test ends: a write is reported as the new value; fade
// emits overheating with its target and returns it.
func runAgent(t *testing.T, h *hub.Hub, user, pass string) {
	t.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatal(err)
	}
	reqs := make(chan *paho.Publish, 256)
	c := paho.NewClient(paho.ClientConfig{ClientID: agentID, Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			reqs <- pr.Packet // handled on another goroutine: a handler must not publish
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cp := &paho.Connect{ClientID: agentID, CleanStart: true, KeepAlive: 30}
	if user != "" {
		cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pass), true
	}
	if _, err := c.Connect(ctx, cp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	publish := func(topic string, payload []byte, props *paho.PublishProperties) error {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		defer pcancel()
		r, err := c.Publish(pctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
		if err == nil && r.ReasonCode >= 0x80 {
			err = &wot.Error{Code: wot.CodeInternal, Message: r.Properties.ReasonString}
		}
		return err
	}
	thing := func(kind wot.TopicKind, name string) string {
		return wot.Topic{Kind: kind, AgentID: agentID, ThingID: lampID, Name: name}.String()
	}
	for topic, payload := range map[string]string{thing(wot.TopicAgentTD, ""): lampTD} {
		if err := publish(topic, []byte(payload), nil); err != nil {
			t.Fatalf("register the lamp: %v", err)
		}
	}
	for name, v := range map[string]string{"brightness": "10", "model": `"L-1"`} {
		if err := publish(thing(wot.TopicAgentProperty, name), []byte(v), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: wot.RequestsTopic(agentID), QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			var req *paho.Publish
			select {
			case <-ctx.Done():
				return
			case req = <-reqs:
			}
			user := req.Properties.User
			answer := func(status wot.Status, out []byte) {
				_ = publish(req.Properties.ResponseTopic, out, &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData,
					User: paho.UserProperties{{Key: wot.PropStatus, Value: string(status)}}})
			}
			switch name := user.Get(wot.PropName); user.Get(wot.PropOp) {
			case wot.OpWriteProperty:
				_ = publish(thing(wot.TopicAgentProperty, name), req.Payload, nil)
				answer(wot.StatusCompleted, nil)
			case wot.OpInvokeAction:
				var in struct {
					To int `json:"to"`
				}
				_ = json.Unmarshal(req.Payload, &in)
				out, _ := json.Marshal(in.To)
				_ = publish(thing(wot.TopicAgentEvent, "overheating"), out, nil)
				answer(wot.StatusCompleted, out)
			}
		}
	}()
}

// runNode runs a script of this directory and returns its output; a
// non-zero exit fails the test.
func runNode(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("node %s:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("node %s: %v\n%s", args[0], err, stderr.String())
	}
	return string(out)
}

func TestNodeWoTConsumesATwin(t *testing.T) {
	bin := node(t)
	h := startHub(t, true)
	runAgent(t, h, "", "")
	out := runNode(t, bin, nil, "consume.mjs", "http://"+h.HTTPAddr()+"/things/"+lampID)
	for _, want := range []string{
		"http readproperty brightness = 10", "http observeproperty brightness saw 55", "http invokeaction fade {to: 77} = 77",
		"http subscribeevent overheating saw 77", "mqtt readproperty brightness = 55", "mqtt observeproperty brightness saw 66",
		"mqtt queryaction fade: completed, output 88", "mqtt subscribeevent overheating saw 88",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("node-wot did not report %q", want)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "ok") {
		t.Error("consume.mjs did not finish")
	}
}

func TestTDPlaygroundValidator(t *testing.T) {
	bin := node(t)
	t.Run("DevelopmentHub", func(t *testing.T) {
		h := startHub(t, true)
		runAgent(t, h, "", "")
		base := "http://" + h.HTTPAddr()
		runNode(t, bin, nil, "validate.mjs", base+"/things/"+lampID, base+"/.well-known/wot")
	})
	t.Run("HubWithAccounts", func(t *testing.T) {
		h := startHub(t, false)
		runAgent(t, h, agentID, password)
		tok, _, err := h.Accounts().IssueToken("admin", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + h.HTTPAddr()
		runNode(t, bin, []string{"WOTMQ_AUTHORIZATION=Bearer " + tok}, "validate.mjs", base+"/things/"+lampID, base+"/.well-known/wot")
	})
}
