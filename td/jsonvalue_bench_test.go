package td

import "testing"

// BenchmarkValidateJSONString is the bench Thing's event (hub
// BenchmarkEvents): a 64-byte JSON string against {"type":"string"}.
func BenchmarkValidateJSONString(b *testing.B) {
	s := parseSchema(b, `{"type":"string"}`)
	payload := []byte(`"` + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" + `"`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ValidateJSON(payload); err != nil {
			b.Fatal(err)
		}
	}
}
