package td_test

import (
	"fmt"

	"github.com/wotmq/wotmq/td"
)

func ExampleParse() {
	doc := []byte(`{
		"@context": "https://www.w3.org/2022/wot/td/v1.1",
		"title": "Lamp",
		"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
		"security": "nosec_sc",
		"ex:room": "kitchen",
		"properties": {
			"brightness": {
				"type": "integer", "minimum": 0, "maximum": 100,
				"forms": [{"href": "mqtt://broker", "op": "writeproperty"}]
			}
		}
	}`)
	thing, err := td.Parse(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := td.Validate(thing, td.ValidateOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	p := thing.Properties["brightness"]
	fmt.Println(thing.Title, p.DataSchema.Type, *p.Maximum, string(thing.Extra["ex:room"]))

	// Declare the MQTT binding vocabulary and describe the topic.
	thing.Context.SetPrefix(td.MQTTPrefix, td.MQTTNamespace)
	p.Forms[0].MQTTTopic = "things/lamp/brightness/set"
	out, _ := td.Marshal(thing)
	fmt.Println(string(out))
	// Output:
	// Lamp integer 100 "kitchen"
	// {"@context":["https://www.w3.org/2022/wot/td/v1.1",{"mqv":"https://www.w3.org/2019/wot/mqtt#"}],"ex:room":"kitchen","properties":{"brightness":{"forms":[{"href":"mqtt://broker","mqv:topic":"things/lamp/brightness/set","op":"writeproperty"}],"maximum":100,"minimum":0,"type":"integer"}},"security":"nosec_sc","securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"title":"Lamp"}
}

func ExampleValidate() {
	thing, _ := td.Parse([]byte(`{
		"@context": "https://www.w3.org/2022/wot/td/v1.1",
		"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
		"security": "basic_sc",
		"actions": {"fade": {"forms": [{"href": "mqtt://broker", "op": "readproperty"}]}}
	}`))
	err := td.Validate(thing, td.ValidateOptions{})
	for _, p := range err.(*td.ValidationError).Problems {
		fmt.Println(p)
	}
	// Output:
	// $.title: required
	// $.security: "basic_sc" is not defined in securityDefinitions
	// $.actions.fade.forms[0].op: "readproperty" is not allowed on an action
}

func ExampleDataSchema_Validate() {
	var schema td.DataSchema
	_ = schema.UnmarshalJSON([]byte(`{
		"type": "object",
		"properties": {
			"brightness": {"type": "integer", "maximum": 100},
			"mode": {"type": "string", "enum": ["on", "off"]}
		}
	}`))
	for _, value := range []string{
		`{"brightness": 40, "mode": "on"}`,
		`{"brightness": "40"}`,
		`{"mode": "x"}`,
		`{"brightness": 120}`,
	} {
		fmt.Println(schema.ValidateJSON([]byte(value)))
	}
	// Output:
	// <nil>
	// td: invalid value: $.brightness: want integer, got string
	// td: invalid value: $.mode: "x" is not one of ["on","off"]
	// td: invalid value: $.brightness: 120 is above maximum 100
}

func ExampleContext_SetPrefix() {
	c := td.NewContext(td.ContextV11)
	c.SetPrefix("mqv", td.MQTTNamespace)
	out, _ := c.MarshalJSON()
	fmt.Println(string(out))
	// Output:
	// ["https://www.w3.org/2022/wot/td/v1.1",{"mqv":"https://www.w3.org/2019/wot/mqtt#"}]
}
