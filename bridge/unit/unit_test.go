package unit

import "testing"

func TestSymbol(t *testing.T) {
	for in, want := range map[string]string{
		"celsius": "°C", "om:degreeCelsius": "°C", "qudt-unit:DEG_C": "°C", "°C": "°C",
		"%": "%", "percent": "%", "kilowatt hour": "kWh", "lux": "lx", "m/s": "m/s",
		"furlong": "furlong", "": "",
	} {
		if got := Symbol(in); got != want {
			t.Errorf("Symbol(%q) = %q, want %q", in, got, want)
		}
	}
}
