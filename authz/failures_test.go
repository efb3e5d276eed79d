package authz_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
)

func TestLoginFailuresCountedByReason(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	s := mustOpen(t, t.TempDir(), clk)
	ctx := context.Background()
	if err := s.Add(ctx, "lamp", authz.RoleAgent, "", pw); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(ctx, "old", authz.RoleAgent, "", pw); err != nil {
		t.Fatal(err)
	}
	oldTok, _, err := s.IssueToken("old", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	shortTok, _, err := s.IssueToken("lamp", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	off := false
	if err := s.Update(ctx, "old", nil, nil, &off, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		try    func() error
		reason authz.Reason
	}{
		{"UnknownAccount", func() error { _, err := s.Login(ctx, "nobody", pw, "10.0.0.1"); return err }, authz.ReasonUnknownAccount},
		{"WrongPassword", func() error { _, err := s.Login(ctx, "lamp", "not the password", "10.0.0.1"); return err }, authz.ReasonBadPassword},
		{"DisabledAccount", func() error { _, err := s.Login(ctx, "old", pw, "10.0.0.1"); return err }, authz.ReasonDisabled},
		{"LockedPair", func() error {
			for range 3 {
				s.Login(ctx, "lamp", "guess", "10.0.0.9")
			}
			_, err := s.Login(ctx, "lamp", pw, "10.0.0.9")
			return err
		}, authz.ReasonThrottled},
		{"ForgedToken", func() error { _, err := s.VerifyToken("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"); return err }, authz.ReasonBadToken},
		{"TokenOfADisabledAccount", func() error { _, err := s.VerifyToken(oldTok); return err }, authz.ReasonDisabled},
		{"ExpiredToken", func() error { clk.Add(2 * time.Minute); _, err := s.VerifyToken(shortTok); return err }, authz.ReasonExpiredToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := s.LoginFailures()
			err := c.try()
			if got := authz.ReasonOf(err); got != c.reason {
				t.Errorf("ReasonOf(%v) = %q, want %q", err, got, c.reason)
			}
			after := s.LoginFailures()
			if after[c.reason] <= before[c.reason] {
				t.Errorf("wotmq_login_failures_total{reason=%q} stayed at %d", c.reason, after[c.reason])
			}
		})
	}
	t.Run("TheClientIsNotToldWhichAccountsExist", func(t *testing.T) {
		_, unknown := s.Login(ctx, "nobody2", pw, "10.0.0.2")
		_, wrong := s.Login(ctx, "lamp", "wrong again", "10.0.0.2")
		if unknown.Error() != wrong.Error() || !errors.Is(unknown, authz.ErrBadCredentials) || !errors.Is(wrong, authz.ErrBadCredentials) {
			t.Errorf("unknown account: %q, wrong password: %q: want the same bad credentials", unknown, wrong)
		}
	})
	t.Run("SuccessIsNoFailure", func(t *testing.T) {
		before := fmt.Sprint(s.LoginFailures())
		if _, err := s.Login(ctx, "lamp", pw, "10.0.0.3"); err != nil {
			t.Fatal(err)
		}
		if after := fmt.Sprint(s.LoginFailures()); after != before {
			t.Errorf("a good login moved the failure counts: %s -> %s", before, after)
		}
	})
	t.Run("EveryReasonIsReported", func(t *testing.T) {
		if got := s.LoginFailures(); len(got) != len(authz.Reasons()) {
			t.Errorf("LoginFailures has %d reasons, want %d", len(got), len(authz.Reasons()))
		}
	})
}

func TestLogFailureThinsAFlood(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	s := mustOpen(t, t.TempDir(), clk)
	t.Run("OneLineAMinutePerPairWithTheCountLeftOut", func(t *testing.T) {
		if log, rep, _ := s.LogFailure("admin", "10.0.0.1"); !log || rep != 0 {
			t.Fatalf("first failure: log %v repeated %d", log, rep)
		}
		for range 500 {
			if log, _, _ := s.LogFailure("admin", "10.0.0.1"); log {
				t.Fatal("a repeat within the minute was logged")
			}
		}
		if log, _, _ := s.LogFailure("admin", "10.0.0.2"); !log {
			t.Error("another address was not logged")
		}
		if log, _, _ := s.LogFailure("root", "10.0.0.1"); !log {
			t.Error("another account was not logged")
		}
		clk.Add(time.Minute)
		if log, rep, _ := s.LogFailure("admin", "10.0.0.1"); !log || rep != 500 {
			t.Errorf("after a minute: log %v repeated %d, want true 500", log, rep)
		}
	})
	t.Run("AtMostAHundredLinesAMinuteInAll", func(t *testing.T) {
		clk.Add(time.Hour)
		lines := 0
		for i := range 10000 {
			if log, _, _ := s.LogFailure(fmt.Sprintf("name-%d", i), fmt.Sprintf("10.1.%d.%d", i/256, i%256)); log {
				lines++
			}
		}
		if lines != 100 {
			t.Errorf("a spray of 10000 names and addresses got %d lines, want 100", lines)
		}
		clk.Add(time.Minute)
		if log, _, others := s.LogFailure("after", "10.2.0.1"); !log || others != 9900 {
			t.Errorf("the next line: log %v others %d, want true 9900", log, others)
		}
	})
}
