package authz

import "fmt"

// Role is what an account may do. Roles are fixed; the permission table
// (Allowed) is the one place that says what each may do.
type Role string

// Roles.
const (
	RoleAgent    Role = "agent"    // exposes Things: publishes their TDs, events, values; answers requests
	RoleViewer   Role = "viewer"   // reads TDs, properties, events, history, presence
	RoleOperator Role = "operator" // viewer + invokes, queries and cancels actions, opens channels
	RoleManager  Role = "manager"  // operator + writes properties
	RoleAdmin    Role = "admin"    // manager + manages accounts and any Thing
	RoleService  Role = "service"  // agent and manager at once
)

// Roles lists every role, least privileged consumer roles first.
func Roles() []Role {
	return []Role{RoleAgent, RoleViewer, RoleOperator, RoleManager, RoleAdmin, RoleService}
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: %q (want agent, viewer, operator, manager, admin or service)", ErrBadRole, s)
}

// Op is an operation the permission table decides.
type Op string

// Operations.
const (
	OpReadTD         Op = "readtd"         // read twin TDs and the hub TD, discover
	OpReadProperty   Op = "readproperty"   // read/observe properties, desired state, delta, presence
	OpSubscribeEvent Op = "subscribeevent" // subscribe to events
	OpReadHistory    Op = "readhistory"    // query event and property history
	OpQueryAction    Op = "queryaction"    // action status, outcome history
	OpInvokeAction   Op = "invokeaction"   // invoke actions, send targeted messages
	OpCancelAction   Op = "cancelaction"   // cancel one's own requests
	OpOpenChannel    Op = "openchannel"    // open a real-time channel to a Thing
	OpWriteProperty  Op = "writeproperty"  // write properties (desired state)
	OpExpose         Op = "expose"         // agent operations on the agent's own Things
	OpManageThings   Op = "managethings"   // delete or reassign any Thing
	OpManageAccounts Op = "manageaccounts" // add, change, disable accounts; tokens for others
)

// Ops lists every operation, in the order of docs/security.md.
func Ops() []Op {
	return []Op{OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory, OpQueryAction,
		OpInvokeAction, OpCancelAction, OpOpenChannel, OpWriteProperty, OpExpose,
		OpManageThings, OpManageAccounts}
}

// table is the permission table: deny unless listed. docs/security.md
// prints it, and a test checks the document against it.
var table = map[Role]map[Op]bool{
	RoleAgent:    set(OpExpose),
	RoleViewer:   set(OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory),
	RoleOperator: set(OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory, OpQueryAction, OpInvokeAction, OpCancelAction, OpOpenChannel),
	RoleManager:  set(OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory, OpQueryAction, OpInvokeAction, OpCancelAction, OpOpenChannel, OpWriteProperty),
	RoleAdmin:    set(OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory, OpQueryAction, OpInvokeAction, OpCancelAction, OpOpenChannel, OpWriteProperty, OpManageThings, OpManageAccounts),
	RoleService:  set(OpReadTD, OpReadProperty, OpSubscribeEvent, OpReadHistory, OpQueryAction, OpInvokeAction, OpCancelAction, OpOpenChannel, OpWriteProperty, OpExpose),
}

func set(ops ...Op) map[Op]bool {
	m := make(map[Op]bool, len(ops))
	for _, op := range ops {
		m[op] = true
	}
	return m
}

// Allowed reports whether role may perform op at all (before per-Thing
// ownership and access lists).
func Allowed(role Role, op Op) bool { return table[role][op] }
