package td

import "net/url"

// Href returns the href of form f resolved against the Thing's base: an
// absolute href, or any href of a Thing without a base, is returned as it
// is. [td-vocab-base--Thing] An href that does not parse (a URI template,
// say) is returned unresolved too.
func (t *Thing) Href(f Form) string {
	if t.Base == "" || f.Href == "" {
		return f.Href
	}
	ref, err := url.Parse(f.Href)
	if err != nil || ref.IsAbs() {
		return f.Href
	}
	base, err := url.Parse(t.Base)
	if err != nil {
		return f.Href
	}
	return base.ResolveReference(ref).String()
}

// ResolveHrefs rewrites every form href of t, at Thing level and in every
// affordance, to its absolute form (Href). Base stays: absolute hrefs do
// not depend on it. Consumers that follow hrefs without knowing base call
// it once after parsing.
func (t *Thing) ResolveHrefs() {
	if t.Base == "" {
		return
	}
	fix := func(forms []Form) {
		for i := range forms {
			forms[i].Href = t.Href(forms[i])
		}
	}
	fix(t.Forms)
	for _, p := range t.Properties {
		fix(p.Forms)
	}
	for _, a := range t.Actions {
		fix(a.Forms)
	}
	for _, e := range t.Events {
		fix(e.Forms)
	}
}
