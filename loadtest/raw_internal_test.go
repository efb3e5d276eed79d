package loadtest

import (
	"testing"
)

func TestRawPublishRoundTrip(t *testing.T) {
	var props []byte
	props = appendProp(props, propResponseTopic, []byte("replies/c/c"))
	props = appendUserProp(props, "status", "completed")
	props = appendProp(props, propCorrelationData, []byte{0, 1, 2})
	body := appendString(nil, "bench/t/actions/echo")
	body = append(body, 0x12, 0x34)
	body = appendVarint(body, len(props))
	body = append(body, props...)
	body = append(body, "42"...)
	p, id, err := parsePublish(body, 1)
	if err != nil || id != 0x1234 || string(p.topic) != "bench/t/actions/echo" || string(p.payload) != "42" {
		t.Fatalf("parsePublish: %q %q id %#x, %v", p.topic, p.payload, id, err)
	}
	var got []string
	if !walkProps(p.props, func(id byte, v, v2 []byte) bool {
		got = append(got, string(rune('0'+id%16))+":"+string(v)+"="+string(v2))
		return true
	}) {
		t.Fatal("well-formed properties refused")
	}
	if len(got) != 3 || got[0] != "8:replies/c/c=" || got[1] != "6:status=completed" || got[2] != "9:\x00\x01\x02=" {
		t.Errorf("properties %q", got)
	}
	if walkProps([]byte{0x26, 0, 5, 'a'}, func(byte, []byte, []byte) bool { return true }) {
		t.Error("a truncated User Property accepted")
	}
	if walkProps([]byte{0x7f}, func(byte, []byte, []byte) bool { return true }) {
		t.Error("an unknown property accepted")
	}
	// A PUBACK's properties after its reason code: a Reason String.
	ack := appendVarint(nil, 8)
	ack = append(ack, 0x1f, 0, 5, 'q', 'u', 'o', 't', 'a')
	if got := reasonString(ack); got != "(quota)" {
		t.Errorf("reasonString = %q", got)
	}
}

// FuzzRawPacket: the load tool's reading of what a broker sends never
// panics, whatever the bytes.
func FuzzRawPacket(f *testing.F) {
	f.Add([]byte{0, 3, 'a', '/', 'b', 0, 1, 5, 0x09, 0, 2, 'x', 'y', 'h', 'i'}, byte(1))
	f.Add([]byte{0, 1, 't', 0, 'p'}, byte(0))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x01}, byte(0))
	f.Fuzz(func(t *testing.T, body []byte, qos byte) {
		if p, _, err := parsePublish(body, qos%2); err == nil {
			walkProps(p.props, func(byte, []byte, []byte) bool { return true })
		}
		reasonString(body)
		varint(body)
	})
}
