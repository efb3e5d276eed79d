package main

import (
	"strings"
	"testing"
)

// TestACLCommand: wotmq acl allow, deny, list and remove against a hub
// with accounts; the rules reach the store and refusals are clear.
func TestACLCommand(t *testing.T) {
	m := startSecure(t, nil)
	as := []string{"--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password", adminPW}
	out, err := runCLI(t, append([]string{"acl", "allow", "role:viewer", "sensors/#", "--subscribe"}, as...)...)
	if err != nil || !strings.Contains(out, "allow role:viewer sensors/# (subscribe)") {
		t.Fatalf("allow: %v\n%s", err, out)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")
	if out, err := runCLI(t, append([]string{"acl", "deny", "*", "clients/%c/#"}, as...)...); err != nil || !strings.Contains(out, "(publish, subscribe)") {
		t.Fatalf("deny: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"acl", "list"}, as...)...)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "clients/%c/#") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if got := m.Hub.Accounts().TopicRules(); len(got) != 2 {
		t.Fatalf("the store holds %+v", got)
	}
	if out, err := runCLI(t, append([]string{"acl", "allow", "*", "things/#"}, as...)...); err == nil || !strings.Contains(out+err.Error(), "namespace things/") {
		t.Errorf("a rule on the hub's namespace: %v %s", err, out)
	}
	if out, err := runCLI(t, append([]string{"acl", "remove", id}, as...)...); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %v %s", err, out)
	}
	if got := m.Hub.Accounts().TopicRules(); len(got) != 1 || !got[0].Deny {
		t.Fatalf("after remove: %+v", got)
	}
	if _, err := runCLI(t, append([]string{"acl", "remove", id}, as...)...); err == nil {
		t.Error("removing a removed rule succeeded")
	}
	if _, err := runCLI(t, "acl", "allow", "onlywho"); err == nil {
		t.Error("allow without a filter succeeded")
	}
}
