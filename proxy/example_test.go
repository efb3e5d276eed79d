package proxy_test

import (
	"fmt"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/proxy"
	"github.com/wotmq/wotmq/td"
)

// The registration check of a device's TD: a plug whose relay state
// arrives as ON/OFF text on stat/plug1/POWER is refused until the TD says
// where the relay takes its commands (or marks the property readOnly).
func ExampleChecker() {
	check := proxy.Checker(nil) // nil: no access rules to apply (a hub passes its account store)
	doc := func(forms string) *td.Thing {
		t, err := td.Parse([]byte(`{
		  "@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:dev:plug1", "title": "Plug",
		  "securityDefinitions": {"n": {"scheme": "nosec"}}, "security": "n",
		  "wotmq:proxy": true,
		  "properties": {"power": {"type": "boolean", "forms": [` + forms + `]}}}`))
		if err != nil {
			panic(err)
		}
		return t
	}
	state := `{"href": "mqtt://plug", "mqv:filter": "stat/plug1/POWER", "contentType": "text/plain", "wotmq:map": {"ON": true, "OFF": false}}`
	command := `{"href": "mqtt://plug", "op": "writeproperty", "mqv:topic": "cmnd/plug1/POWER", "contentType": "text/plain", "wotmq:map": {"ON": true, "OFF": false}}`
	integrator := authz.Identity{ID: "integrator", Role: authz.RoleAgent}
	fmt.Println(check(integrator, doc(state)))
	fmt.Println(check(integrator, doc(state+","+command)))
	// Output:
	// $.properties["power"]: a writable property of a proxied device needs a form with op writeproperty and the device's command topic (mqv:topic); or mark it readOnly
	// <nil>
}
