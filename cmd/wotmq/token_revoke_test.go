package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenRevokeCommand: `wotmq token revoke` voids one token, given in a
// file, on the command line, or (none given) the one it logs in with.
func TestTokenRevokeCommand(t *testing.T) {
	m := startSecure(t, nil)
	hub := []string{"--broker", m.Hub.MQTTAddr()}
	as := func(user, pw string) []string { return append(hub, "--username", user, "--password", pw) }
	issue := func() string {
		tok, _, err := m.Hub.Accounts().IssueToken("admin", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	works := func(tok string) bool {
		_, err := m.Hub.Accounts().VerifyToken(tok)
		return err == nil
	}
	t.Run("FromAFile", func(t *testing.T) {
		tok := issue()
		file := filepath.Join(t.TempDir(), "tok")
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := runCLI(t, append([]string{"token", "revoke", "--token-file", file}, as("admin", adminPW)...)...)
		if err != nil || !strings.Contains(out, "revoked") {
			t.Fatalf("revoke: %v %s", err, out)
		}
		if works(tok) {
			t.Error("the token still works")
		}
	})
	t.Run("AsAnArgument", func(t *testing.T) {
		tok, keep := issue(), issue()
		if out, err := runCLI(t, append([]string{"token", "revoke", tok}, as("admin", adminPW)...)...); err != nil {
			t.Fatalf("revoke: %v %s", err, out)
		}
		if works(tok) || !works(keep) {
			t.Errorf("revoked %v, the other one kept %v", !works(tok), works(keep))
		}
	})
	t.Run("TheOneItLogsInWith", func(t *testing.T) {
		tok := issue()
		if out, err := runCLI(t, append([]string{"token", "revoke"}, as("", tok)...)...); err != nil {
			t.Fatalf("revoke: %v %s", err, out)
		}
		if works(tok) {
			t.Error("the token still works")
		}
	})
	t.Run("NothingToRevoke", func(t *testing.T) {
		if _, err := runCLI(t, append([]string{"token", "revoke"}, as("admin", adminPW)...)...); err == nil {
			t.Error("revoke without a token and logged in with a password: no error")
		}
	})
}
