package explorer

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// maxAgentThings is how many of an agent's Things the agents page names;
// the Things page finds the rest (a search by agent).
const maxAgentThings = 20

type agentView struct {
	ID        string
	Online    bool
	LastSeen  time.Time
	Remote    string
	Things    []thingRow // the first maxAgentThings
	More      int        // Things not listed
	Delivered int
	Pending   int
	Window    int
	Requests  []requestView
	Hidden    int // unfinished requests of other accounts, not shown
}

type requestView struct {
	*inbox.Request
	CanCancel bool
}

type agentsData struct {
	Agents []agentView
	All    bool // the account sees every agent and request (managethings)
}

// agentsPage shows the agents whose Things the account may read: their
// connection, Things, delivery window and unfinished requests. An admin
// (managethings) sees every agent and every request; others see the
// requests they made. Cancel appears on one's own unfinished invocations
// and goes through the binding (DELETE .../actions/{name}/{request}),
// which decides it by the same rules as cancelaction over MQTT.
func (x *Explorer) agentsPage(w http.ResponseWriter, r *http.Request, s session) {
	all := authz.Allowed(s.id.Role, authz.OpManageThings) && !s.id.Anonymous
	byAgent := map[string]*agentView{}
	var order []string
	agent := func(id string) *agentView {
		if a, ok := byAgent[id]; ok {
			return a
		}
		a := &agentView{ID: id, Window: x.opts.Core.Window()}
		byAgent[id] = a
		order = append(order, id)
		return a
	}
	for _, e := range x.opts.Directory.List() {
		if x.opts.Authz.Decide(s.id, authz.OpReadTD, e.ThingID) != nil {
			continue
		}
		a := agent(e.AgentID)
		if len(a.Things) == maxAgentThings {
			a.More++
			continue
		}
		a.Things = append(a.Things, thingRow{ID: e.ThingID, Title: e.TD.Title})
	}
	if all {
		if agents, err := x.opts.Presence.Agents(r.Context()); err == nil {
			for _, p := range agents {
				agent(p.ID)
			}
		}
	}
	slices.Sort(order)
	d := agentsData{All: all}
	for _, id := range order {
		a := byAgent[id]
		if p, ok, err := x.opts.Presence.GetAgent(r.Context(), id); err == nil && ok {
			a.Online, a.LastSeen = p.Online, p.LastSeen
			if all {
				a.Remote = p.Remote
			}
		}
		reqs, err := x.opts.Inbox.Unfinished(r.Context(), id)
		if err != nil {
			x.problem(w, r, s, err)
			return
		}
		for _, req := range reqs {
			switch req.Status {
			case wire.StatusPending:
				a.Pending++
			case wire.StatusDelivered:
				a.Delivered++
			}
			if !all && req.Sender != s.id.ID {
				a.Hidden++
				continue
			}
			a.Requests = append(a.Requests, requestView{Request: req,
				CanCancel: req.Sender == s.id.ID && req.Op == wire.OpInvokeAction && s.may(x, authz.OpCancelAction, req.ThingID)})
		}
		d.Agents = append(d.Agents, *a)
	}
	x.render(w, r, s, http.StatusOK, "agents", "Agents and queues", "agents", d, "")
}

type aclView struct {
	ThingID     string
	Allow, Deny []string
}

// ruleView is an access rule of free topics as acl.list answers it
// (read as JSON, so that the page needs nothing of the rules but the
// admin request).
type ruleView struct {
	ID        string    `json:"id"`
	Who       string    `json:"who"`
	Filter    string    `json:"filter"`
	Publish   bool      `json:"publish"`
	Subscribe bool      `json:"subscribe"`
	Deny      bool      `json:"deny"`
	Created   time.Time `json:"created"`
}

// Admin operations on the access rules of free topics (twin.AdminRulesList
// and twin.AdminRulesRemove where the hub has them).
const (
	adminRulesList   = "acl.list"
	adminRulesRemove = "acl.remove"
)

type accountsData struct {
	Accounts []authz.Account
	ACLs     []aclView
	Rules    []ruleView
	HasRules bool // the hub has access rules of free topics
	Roles    []string
	Done     string // what the last change did
	Token    *twin.TokenReply
	TokenFor string
	Password string // a password the hub made up for a new account
	Error    string
}

// accountsPage lists the accounts and changes them, for admins: every
// change is a twin.Core.Admin request, decided and performed exactly as
// the same request on wotmq/admin.
func (x *Explorer) accountsPage(w http.ResponseWriter, r *http.Request, s session) {
	if !authz.Allowed(s.id.Role, authz.OpManageAccounts) || s.id.Anonymous {
		x.problem(w, r, s, wire.Errorf(wire.CodeDenied, "role %s may not %s: sign in as an admin", s.id.Role, authz.OpManageAccounts))
		return
	}
	d := accountsData{Roles: []string{"viewer", "operator", "manager", "agent", "service", "admin"}}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		req := twin.AdminRequest{ID: r.PostFormValue("id")}
		yes, no := true, false
		switch r.PostFormValue("op") {
		case "enable":
			req.Op, req.Enabled = twin.AdminAccountsUpdate, &yes
		case "disable":
			req.Op, req.Enabled = twin.AdminAccountsUpdate, &no
		case "role":
			req.Op, req.Role = twin.AdminAccountsUpdate, r.PostFormValue("role")
		case "token":
			req.Op, req.TTL = twin.AdminToken, r.PostFormValue("ttl")
		case "add":
			req.Op, req.Role = twin.AdminAccountsAdd, r.PostFormValue("role")
			if name := r.PostFormValue("name"); name != "" {
				req.Name = &name
			}
		case "remove-rule":
			req.Op = adminRulesRemove
		default:
			req.Op = r.PostFormValue("op") // refused below as unknown
		}
		out, err := x.opts.Core.Admin(r.Context(), s.id, req)
		if err != nil {
			we := twin.AsWire(err)
			d.Error = string(we.Code) + ": " + we.Message
			status = we.Code.HTTPStatus()
		} else {
			d.Done = map[string]string{"enable": "enabled ", "disable": "disabled ", "role": "changed the role of ",
				"token": "issued a token for ", "add": "added ", "remove-rule": "removed the access rule "}[r.PostFormValue("op")] + req.ID
			switch v := out.(type) {
			case twin.TokenReply:
				d.Token, d.TokenFor = &v, req.ID
			case twin.AccountReply:
				d.Password = v.Password
			}
		}
	}
	out, err := x.opts.Core.Admin(r.Context(), s.id, twin.AdminRequest{Op: twin.AdminAccountsList})
	if err != nil {
		x.problem(w, r, s, err)
		return
	}
	d.Accounts = out.([]authz.Account)
	for i := range d.Accounts {
		d.Accounts[i].Hash = nil
	}
	if rules, err := x.opts.Core.Admin(r.Context(), s.id, twin.AdminRequest{Op: adminRulesList}); err == nil {
		d.HasRules = true
		if b, err := json.Marshal(rules); err == nil {
			json.Unmarshal(b, &d.Rules)
		}
	}
	for _, e := range x.opts.Directory.List() {
		if acl, ok := x.opts.Authz.ThingACL(e.ThingID); ok {
			d.ACLs = append(d.ACLs, aclView{ThingID: e.ThingID, Allow: acl.Allow, Deny: acl.Deny})
		}
	}
	x.render(w, r, s, status, "accounts", "Accounts", "accounts", d, "")
}
