package httpapi

import (
	"bytes"
	"encoding/json"
)

// applyMergePatch applies a JSON Merge Patch (RFC 7396) to doc: members of
// a patch object replace the target's, null removes them, objects merge
// recursively, anything else replaces the whole target. Numbers are kept
// as written.
func applyMergePatch(doc, patch []byte) ([]byte, error) {
	target, err := decodeOne(doc)
	if err != nil {
		return nil, err
	}
	p, err := decodeOne(patch)
	if err != nil {
		return nil, err
	}
	return json.Marshal(mergeValue(target, p))
}

func mergeValue(target, patch any) any {
	po, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	to, ok := target.(map[string]any)
	if !ok {
		to = map[string]any{}
	}
	for k, v := range po {
		if v == nil {
			delete(to, k)
			continue
		}
		to[k] = mergeValue(to[k], v)
	}
	return to
}

// createMergePatch returns the merge patch that turns from into to (both
// JSON objects), for the thing_updated events of the directory: changed
// members with their new value, removed members as null.
func createMergePatch(from, to []byte) ([]byte, error) {
	a, err := decodeOne(from)
	if err != nil {
		return nil, err
	}
	b, err := decodeOne(to)
	if err != nil {
		return nil, err
	}
	return json.Marshal(diffValue(a, b))
}

func diffValue(a, b any) any {
	ao, ok1 := a.(map[string]any)
	bo, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return b
	}
	out := map[string]any{}
	for k, av := range ao {
		bv, ok := bo[k]
		if !ok {
			out[k] = nil
			continue
		}
		if !sameJSON(av, bv) {
			out[k] = diffValue(av, bv)
		}
	}
	for k, bv := range bo {
		if _, ok := ao[k]; !ok {
			out[k] = bv
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// decodeOne decodes exactly one JSON value, numbers as json.Number.
func decodeOne(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errNotJSON
	}
	if len(bytes.Trim(b[d.InputOffset():], " \t\r\n")) > 0 {
		return nil, errNotJSON
	}
	return v, nil
}
