package broker

import "github.com/wotmq/wotmq/twin"

// The twin core's records and names, under the names the broker gave
// them before the core moved to package twin (docs/architecture.md, "The
// split"); new code uses package twin.

// Admin API (twin/admin.go).
type (
	AdminRequest = twin.AdminRequest
	AccountReply = twin.AccountReply
	TokenReply   = twin.TokenReply
	BackupReply  = twin.BackupReply
)

// Admin operations.
const (
	AdminAccountsList   = twin.AdminAccountsList
	AdminAccountsAdd    = twin.AdminAccountsAdd
	AdminAccountsUpdate = twin.AdminAccountsUpdate
	AdminToken          = twin.AdminToken
	AdminThingsDelete   = twin.AdminThingsDelete
	AdminThingsReassign = twin.AdminThingsReassign
	AdminThingsACL      = twin.AdminThingsACL
	AdminBackup         = twin.AdminBackup
)

// Twin records.
type (
	ActionHistory = twin.ActionHistory
	DesiredState  = twin.DesiredState
	DeltaEntry    = twin.DeltaEntry
)

// Twin TD names.
const (
	MQTTBindingIRI        = twin.MQTTBindingIRI
	ExtensionsIRI         = twin.ExtensionsIRI
	ChannelMember         = twin.ChannelMember
	HubThingID            = twin.HubThingID
	PresenceEvent         = twin.PresenceEvent
	RetentionMember       = twin.RetentionMember
	DefaultMaxAffordances = twin.DefaultMaxAffordances
)
