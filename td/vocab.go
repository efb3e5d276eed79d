package td

// JSON-LD context IRIs of the Thing Description vocabulary.
const (
	// ContextV11 is the TD 1.1 context IRI.
	ContextV11 = "https://www.w3.org/2022/wot/td/v1.1"
	// ContextV10 is the TD 1.0 context IRI.
	ContextV10 = "https://www.w3.org/2019/wot/td/v1"
)

// Protocol binding vocabularies used by Form.
const (
	// MQTTPrefix is the conventional prefix of the MQTT binding vocabulary.
	MQTTPrefix = "mqv"
	// MQTTNamespace is the IRI of the MQTT binding vocabulary.
	MQTTNamespace = "https://www.w3.org/2019/wot/mqtt#"
	// HTTPPrefix is the conventional prefix of the HTTP binding vocabulary.
	HTTPPrefix = "htv"
	// HTTPNamespace is the IRI of the HTTP binding vocabulary.
	HTTPNamespace = "http://www.w3.org/2011/http#"
)

// Operation types: the values of a form's "op" member.
const (
	OpReadProperty      = "readproperty"
	OpWriteProperty     = "writeproperty"
	OpObserveProperty   = "observeproperty"
	OpUnobserveProperty = "unobserveproperty"

	OpInvokeAction = "invokeaction"
	OpQueryAction  = "queryaction"
	OpCancelAction = "cancelaction"

	OpSubscribeEvent   = "subscribeevent"
	OpUnsubscribeEvent = "unsubscribeevent"

	OpReadAllProperties       = "readallproperties"
	OpWriteAllProperties      = "writeallproperties"
	OpReadMultipleProperties  = "readmultipleproperties"
	OpWriteMultipleProperties = "writemultipleproperties"
	OpObserveAllProperties    = "observeallproperties"
	OpUnobserveAllProperties  = "unobserveallproperties"
	OpSubscribeAllEvents      = "subscribeallevents"
	OpUnsubscribeAllEvents    = "unsubscribeallevents"
	OpQueryAllActions         = "queryallactions"
)

// Security scheme names: the values of a security scheme's "scheme" member.
const (
	SchemeNoSec  = "nosec"
	SchemeAuto   = "auto"
	SchemeCombo  = "combo"
	SchemeBasic  = "basic"
	SchemeDigest = "digest"
	SchemeAPIKey = "apikey"
	SchemeBearer = "bearer"
	SchemePSK    = "psk"
	SchemeOAuth2 = "oauth2"
)

// Data schema types: the values of a DataSchema's "type" member.
const (
	TypeBoolean = "boolean"
	TypeInteger = "integer"
	TypeNumber  = "number"
	TypeString  = "string"
	TypeObject  = "object"
	TypeArray   = "array"
	TypeNull    = "null"
)

// MQTT binding control packets: the values of "mqv:controlPacket".
const (
	MQTTPublish     = "publish"
	MQTTSubscribe   = "subscribe"
	MQTTUnsubscribe = "unsubscribe"
)

// IsPropertyOp reports whether op is allowed in a property affordance's form.
func IsPropertyOp(op string) bool {
	switch op {
	case OpReadProperty, OpWriteProperty, OpObserveProperty, OpUnobserveProperty:
		return true
	}
	return false
}

// IsActionOp reports whether op is allowed in an action affordance's form.
func IsActionOp(op string) bool {
	switch op {
	case OpInvokeAction, OpQueryAction, OpCancelAction:
		return true
	}
	return false
}

// IsEventOp reports whether op is allowed in an event affordance's form.
func IsEventOp(op string) bool {
	switch op {
	case OpSubscribeEvent, OpUnsubscribeEvent:
		return true
	}
	return false
}

// IsThingOp reports whether op is allowed in a Thing-level form.
func IsThingOp(op string) bool {
	switch op {
	case OpReadAllProperties, OpWriteAllProperties,
		OpReadMultipleProperties, OpWriteMultipleProperties,
		OpObserveAllProperties, OpUnobserveAllProperties,
		OpSubscribeAllEvents, OpUnsubscribeAllEvents,
		OpQueryAllActions:
		return true
	}
	return false
}

// knownScheme reports whether s is a security scheme defined by TD 1.1.
func knownScheme(s string) bool {
	switch s {
	case SchemeNoSec, SchemeAuto, SchemeCombo, SchemeBasic, SchemeDigest,
		SchemeAPIKey, SchemeBearer, SchemePSK, SchemeOAuth2:
		return true
	}
	return false
}

// knownType reports whether t is a data schema type defined by TD 1.1.
func knownType(t string) bool {
	switch t {
	case TypeBoolean, TypeInteger, TypeNumber, TypeString, TypeObject, TypeArray, TypeNull:
		return true
	}
	return false
}
