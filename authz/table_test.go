package authz_test

import (
	"os"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/authz"
)

// TestSecurityDocMatchesTable checks the permission table printed in
// docs/security.md against the one the code enforces.
func TestSecurityDocMatchesTable(t *testing.T) {
	b, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	roles := authz.Roles()
	seen := map[authz.Op]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != len(roles)+4 {
			continue
		}
		op := authz.Op(strings.TrimSpace(cells[1]))
		if !contains(authz.Ops(), op) {
			continue
		}
		seen[op] = true
		for i, r := range roles {
			doc := strings.TrimSpace(cells[3+i]) == "✓"
			if doc != authz.Allowed(r, op) {
				t.Errorf("docs/security.md says %s may %s: %v; the code says %v", r, op, doc, authz.Allowed(r, op))
			}
		}
	}
	for _, op := range authz.Ops() {
		if !seen[op] {
			t.Errorf("docs/security.md has no row for %s", op)
		}
	}
}

func contains(ops []authz.Op, op authz.Op) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

func TestParseRole(t *testing.T) {
	for _, r := range authz.Roles() {
		if got, err := authz.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%s) = %v, %v", r, got, err)
		}
	}
	if _, err := authz.ParseRole("root"); err == nil {
		t.Error("unknown role accepted")
	}
}
