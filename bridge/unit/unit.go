// Package unit turns the units TDs write (free strings: "celsius",
// "om:degreeCelsius", "qudt:DEG_C", "%") into the symbols Home Assistant
// and Homie controllers recognise ("°C", "%"). Both bridges use it.
package unit

import "strings"

// symbols maps a unit, normalised by key, to its symbol: the Homie 5
// recommended unit strings, which are also Home Assistant's.
var symbols = map[string]string{
	"celsius": "°C", "degreecelsius": "°C", "degc": "°C", "°c": "°C",
	"fahrenheit": "°F", "degreefahrenheit": "°F", "degf": "°F", "°f": "°F",
	"kelvin": "K", "k": "K",
	"degree": "°", "deg": "°", "°": "°",
	"percent": "%", "percentage": "%", "%": "%",
	"watt": "W", "w": "W", "kilowatt": "kW", "kw": "kW",
	"kilowatthour": "kWh", "kwh": "kWh", "kilowhr": "kWh", "watthour": "Wh", "wh": "Wh",
	"volt": "V", "v": "V", "ampere": "A", "a": "A", "milliampere": "mA", "ma": "mA",
	"hertz": "Hz", "hz": "Hz",
	"pascal": "Pa", "pa": "Pa", "hectopascal": "hPa", "hpa": "hPa", "bar": "bar", "psi": "psi",
	"lux": "lx", "lx": "lx",
	"partspermillion": "ppm", "ppm": "ppm",
	"second": "s", "sec": "s", "s": "s", "millisecond": "ms", "ms": "ms",
	"minute": "min", "min": "min", "minuteoftime": "min", "hour": "h", "hr": "h", "h": "h",
	"metre": "m", "meter": "m", "m": "m", "centimetre": "cm", "centimeter": "cm", "cm": "cm",
	"millimetre": "mm", "millimeter": "mm", "mm": "mm",
	"litre": "L", "liter": "L", "l": "L", "cubicmetre": "m³", "cubicmeter": "m³", "m3": "m³",
	"metrepersecond": "m/s", "meterpersecond": "m/s", "mpersec": "m/s",
	"decibel": "dB", "db": "dB",
}

// Symbol is the symbol of a TD unit, or the unit itself when it is not
// one the table knows (a controller shows it as written).
func Symbol(tdUnit string) string {
	if s, ok := symbols[key(tdUnit)]; ok {
		return s
	}
	return tdUnit
}

// key normalises a unit for the table: the term after a vocabulary
// prefix, lower case, without spaces, underscores and hyphens.
func key(u string) string {
	u = strings.TrimSpace(u)
	if i := strings.LastIndexAny(u, ":/#"); i >= 0 && i < len(u)-1 && !strings.Contains(u[:i], " ") && u != "m/s" {
		u = u[i+1:]
	}
	u = strings.ToLower(u)
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(u)
}
