package homie

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestFromHomie(t *testing.T) {
	enum := &Property{Datatype: "enum", Format: "eco,comfort,off"}
	invoke := &Property{Datatype: "enum", Format: Invoke, noInput: true}
	for _, c := range []struct {
		p       *Property
		in, out string
	}{
		{&Property{Datatype: "boolean"}, "true", "true"},
		{&Property{Datatype: "integer"}, "-0042", "-42"},
		{&Property{Datatype: "float"}, "21.5", "21.5"},
		{&Property{Datatype: "float"}, "1e21", "1e+21"},
		{&Property{Datatype: "float"}, "-.5", "-0.5"},
		{enum, "comfort", `"comfort"`},
		{invoke, "invoke", ""},
		{&Property{Datatype: "string"}, "\x00", `""`},
		{&Property{Datatype: "string"}, `say "hi"`, `"say \"hi\""`},
		{&Property{Datatype: "datetime"}, "2026-12-07T05:00:00Z", `"2026-12-07T05:00:00Z"`},
		{&Property{Datatype: "duration"}, "PT1H30M", `"PT1H30M"`},
		{&Property{Datatype: "json"}, `{ "a": [1, 2] }`, `{"a":[1,2]}`},
	} {
		got, err := FromHomie(c.p, []byte(c.in))
		if err != nil || string(got) != c.out {
			t.Errorf("FromHomie(%s, %q) = %q, %v; want %q", c.p.Datatype, c.in, got, err, c.out)
		}
	}
	for _, c := range []struct {
		p  *Property
		in string
	}{
		{&Property{Datatype: "boolean"}, "TRUE"},
		{&Property{Datatype: "boolean"}, ""},
		{&Property{Datatype: "integer"}, "-"},
		{&Property{Datatype: "integer"}, "1.0"},
		{&Property{Datatype: "integer"}, "9223372036854775808"},
		{&Property{Datatype: "float"}, "NaN"},
		{&Property{Datatype: "float"}, "1e+5"},
		{&Property{Datatype: "float"}, "1e999"},
		{&Property{Datatype: "float"}, " 1"},
		{enum, "Eco"},
		{enum, ""},
		{invoke, ""},
		{&Property{Datatype: "string"}, "\xff"},
		{&Property{Datatype: "datetime"}, "yesterday"},
		{&Property{Datatype: "duration"}, "PT"},
		{&Property{Datatype: "json"}, "42"},
		{&Property{Datatype: "json"}, "{"},
		{&Property{Datatype: "color"}, "rgb,1,2,3"},
	} {
		if got, err := FromHomie(c.p, []byte(c.in)); !errors.Is(err, ErrPayload) {
			t.Errorf("FromHomie(%s, %q) = %q, %v; want ErrPayload", c.p.Datatype, c.in, got, err)
		}
	}
}

func TestToHomie(t *testing.T) {
	for _, c := range []struct {
		p       *Property
		in, out string
	}{
		{&Property{Datatype: "boolean"}, "true", "true"},
		{&Property{Datatype: "integer"}, "21.0", "21"},
		{&Property{Datatype: "integer"}, "-7", "-7"},
		{&Property{Datatype: "float"}, "1E+21", "1E21"},
		{&Property{Datatype: "float"}, "21.50", "21.50"},
		{&Property{Datatype: "enum", Format: "a,b"}, `"b"`, "b"},
		{&Property{Datatype: "string"}, `""`, "\x00"},
		{&Property{Datatype: "json"}, `{"a": 1}`, `{"a":1}`},
		{&Property{Datatype: "enum", Format: "doorbell", noInput: true}, ``, "doorbell"},
		{&Property{Datatype: "string", text: true}, `[1, "x"]`, `[1,"x"]`},
	} {
		got, err := ToHomie(c.p, []byte(c.in))
		if err != nil || string(got) != c.out {
			t.Errorf("ToHomie(%s, %q) = %q, %v; want %q", c.p.Datatype, c.in, got, err, c.out)
		}
	}
	for _, c := range []struct {
		p  *Property
		in string
	}{
		{&Property{Datatype: "boolean"}, "1"},
		{&Property{Datatype: "integer"}, "21.5"},
		{&Property{Datatype: "float"}, `"21"`},
		{&Property{Datatype: "json"}, "42"},
		{&Property{Datatype: "string"}, "null"},
	} {
		if got, err := ToHomie(c.p, []byte(c.in)); !errors.Is(err, ErrValue) {
			t.Errorf("ToHomie(%s, %q) = %q, %v; want ErrValue", c.p.Datatype, c.in, got, err)
		}
	}
}

// FuzzFromHomie feeds the /set payload parser any bytes for every
// datatype: it never panics, what it accepts is JSON (or, for an action
// without input, nothing), and that JSON goes back to Homie and returns
// the same JSON.
func FuzzFromHomie(f *testing.F) {
	types := []*Property{
		{Datatype: "boolean"}, {Datatype: "integer"}, {Datatype: "float"},
		{Datatype: "enum", Format: "eco,comfort,off"}, {Datatype: "enum", Format: Invoke, noInput: true},
		{Datatype: "string"}, {Datatype: "datetime"}, {Datatype: "duration"}, {Datatype: "json"},
	}
	for i, seed := range []string{"true", "-42", "1e21", "comfort", "invoke", "\x00", "2026-12-07T05:00:00Z", "PT1H", `{"a":[1]}`} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		p := types[int(which)%len(types)]
		out, err := FromHomie(p, payload)
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v is not ErrPayload", err)
			}
			return
		}
		if p.noInput {
			if len(out) != 0 {
				t.Fatalf("input %q for an action without input", out)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("FromHomie(%s, %q) = %q: not JSON", p.Datatype, payload, out)
		}
		back, err := ToHomie(p, out)
		if err != nil {
			t.Fatalf("ToHomie(%s, %q): %v", p.Datatype, out, err)
		}
		again, err := FromHomie(p, back)
		if err != nil || string(again) != string(out) {
			t.Fatalf("round trip of %q: %q -> %q -> %q, %v", payload, out, back, again, err)
		}
	})
}
