package wot

// The wire contract lives in package wire, which the hub and its stores
// import without linking paho. Everything it exports is re-exported here
// under the same name, so that code written against package wot keeps
// compiling: wot.Topic is wire.Topic, wot.CodeDenied is wire.CodeDenied,
// and a *wot.Error is a *wire.Error. Signal alone is a type of its own (see
// signal.go), for its Err method that reports the SDK's sentinel errors.
//
// This file lists every exported identifier of package wire, in the order
// of its files; TestReexportsWire keeps it complete.

import "github.com/wotmq/wotmq/wire"

// wire/errors.go

// Code is wire.Code.
type Code = wire.Code

// Error is wire.Error.
type Error = wire.Error

const (
	// CodeInvalidTD is wire.CodeInvalidTD.
	CodeInvalidTD = wire.CodeInvalidTD
	// CodeInvalidTopic is wire.CodeInvalidTopic.
	CodeInvalidTopic = wire.CodeInvalidTopic
	// CodeInvalidPayload is wire.CodeInvalidPayload.
	CodeInvalidPayload = wire.CodeInvalidPayload
	// CodeUnknownThing is wire.CodeUnknownThing.
	CodeUnknownThing = wire.CodeUnknownThing
	// CodeUnknownAffordance is wire.CodeUnknownAffordance.
	CodeUnknownAffordance = wire.CodeUnknownAffordance
	// CodeDenied is wire.CodeDenied.
	CodeDenied = wire.CodeDenied
	// CodeExpired is wire.CodeExpired.
	CodeExpired = wire.CodeExpired
	// CodeOffline is wire.CodeOffline.
	CodeOffline = wire.CodeOffline
	// CodeBusy is wire.CodeBusy.
	CodeBusy = wire.CodeBusy
	// CodeSuperseded is wire.CodeSuperseded.
	CodeSuperseded = wire.CodeSuperseded
	// CodeQuota is wire.CodeQuota.
	CodeQuota = wire.CodeQuota
	// CodeCancelled is wire.CodeCancelled.
	CodeCancelled = wire.CodeCancelled
	// CodeAgentError is wire.CodeAgentError.
	CodeAgentError = wire.CodeAgentError
	// CodeTimeout is wire.CodeTimeout.
	CodeTimeout = wire.CodeTimeout
	// CodeInternal is wire.CodeInternal.
	CodeInternal = wire.CodeInternal
	// CodeReadOnly is wire.CodeReadOnly.
	CodeReadOnly = wire.CodeReadOnly
	// CodeFinished is wire.CodeFinished.
	CodeFinished = wire.CodeFinished
	// CodeUnknownAccount is wire.CodeUnknownAccount.
	CodeUnknownAccount = wire.CodeUnknownAccount
	// CodeTooLarge is wire.CodeTooLarge.
	CodeTooLarge = wire.CodeTooLarge
	// CodeUnsupportedMedia is wire.CodeUnsupportedMedia.
	CodeUnsupportedMedia = wire.CodeUnsupportedMedia
	// CodeRequestTimeout is wire.CodeRequestTimeout.
	CodeRequestTimeout = wire.CodeRequestTimeout
	// CodeRateLimited is wire.CodeRateLimited.
	CodeRateLimited = wire.CodeRateLimited
	// CodeStorageFull is wire.CodeStorageFull.
	CodeStorageFull = wire.CodeStorageFull
	// CodeUnauthenticated is wire.CodeUnauthenticated.
	CodeUnauthenticated = wire.CodeUnauthenticated
	// CodeNotFound is wire.CodeNotFound.
	CodeNotFound = wire.CodeNotFound
	// CodeMethodNotAllowed is wire.CodeMethodNotAllowed.
	CodeMethodNotAllowed = wire.CodeMethodNotAllowed
	// CodeNoValue is wire.CodeNoValue.
	CodeNoValue = wire.CodeNoValue
)

const (
	// ReasonSuccess is wire.ReasonSuccess.
	ReasonSuccess = wire.ReasonSuccess
	// ReasonUnspecified is wire.ReasonUnspecified.
	ReasonUnspecified = wire.ReasonUnspecified
	// ReasonImplementation is wire.ReasonImplementation.
	ReasonImplementation = wire.ReasonImplementation
	// ReasonNotAuthorized is wire.ReasonNotAuthorized.
	ReasonNotAuthorized = wire.ReasonNotAuthorized
	// ReasonTopicNameInvalid is wire.ReasonTopicNameInvalid.
	ReasonTopicNameInvalid = wire.ReasonTopicNameInvalid
	// ReasonQuotaExceeded is wire.ReasonQuotaExceeded.
	ReasonQuotaExceeded = wire.ReasonQuotaExceeded
	// ReasonPayloadFormatInvalid is wire.ReasonPayloadFormatInvalid.
	ReasonPayloadFormatInvalid = wire.ReasonPayloadFormatInvalid
)

// Codes is wire.Codes.
func Codes() []Code { return wire.Codes() }

// Errorf is wire.Errorf.
func Errorf(code Code, format string, args ...any) *Error { return wire.Errorf(code, format, args...) }

// CodeOf is wire.CodeOf.
func CodeOf(err error) Code { return wire.CodeOf(err) }

// wire/filters.go

const (
	// RepliesRoot is wire.RepliesRoot.
	RepliesRoot = wire.RepliesRoot
)

// DirectoryFilter is wire.DirectoryFilter.
func DirectoryFilter() string { return wire.DirectoryFilter() }

// ClientRepliesTopic is wire.ClientRepliesTopic.
func ClientRepliesTopic(accountID, clientID string) string {
	return wire.ClientRepliesTopic(accountID, clientID)
}

// IsFreeTopic is wire.IsFreeTopic.
func IsFreeTopic(topic string) bool { return wire.IsFreeTopic(topic) }

// ReachesFreeTopics is wire.ReachesFreeTopics.
func ReachesFreeTopics(filter string) bool { return wire.ReachesFreeTopics(filter) }

// MatchFilter is wire.MatchFilter.
func MatchFilter(filter, topic string) bool { return wire.MatchFilter(filter, topic) }

// wire/messages.go

// ActionStatus is wire.ActionStatus.
type ActionStatus = wire.ActionStatus

// HistoryQuery is wire.HistoryQuery.
type HistoryQuery = wire.HistoryQuery

// HistoryKind is wire.HistoryKind.
type HistoryKind = wire.HistoryKind

// HistoryItem is wire.HistoryItem.
type HistoryItem = wire.HistoryItem

// HistoryPage is wire.HistoryPage.
type HistoryPage = wire.HistoryPage

// SignalType is wire.SignalType.
type SignalType = wire.SignalType

const (
	// KindEvent is wire.KindEvent.
	KindEvent = wire.KindEvent
	// KindProperty is wire.KindProperty.
	KindProperty = wire.KindProperty
)

const (
	// SignalOffer is wire.SignalOffer.
	SignalOffer = wire.SignalOffer
	// SignalAnswer is wire.SignalAnswer.
	SignalAnswer = wire.SignalAnswer
	// SignalCandidate is wire.SignalCandidate.
	SignalCandidate = wire.SignalCandidate
	// SignalBye is wire.SignalBye.
	SignalBye = wire.SignalBye
	// SignalError is wire.SignalError.
	SignalError = wire.SignalError
)

// wire/protocol.go

// Presence is wire.Presence.
type Presence = wire.Presence

// Status is wire.Status.
type Status = wire.Status

const (
	// OpAgentUpdateTD is wire.OpAgentUpdateTD.
	OpAgentUpdateTD = wire.OpAgentUpdateTD
	// OpAgentPublishEvent is wire.OpAgentPublishEvent.
	OpAgentPublishEvent = wire.OpAgentPublishEvent
	// OpAgentUpdateProperty is wire.OpAgentUpdateProperty.
	OpAgentUpdateProperty = wire.OpAgentUpdateProperty
	// OpAgentReceive is wire.OpAgentReceive.
	OpAgentReceive = wire.OpAgentReceive
	// OpAgentSetPresence is wire.OpAgentSetPresence.
	OpAgentSetPresence = wire.OpAgentSetPresence
	// OpAgentReply is wire.OpAgentReply.
	OpAgentReply = wire.OpAgentReply
)

const (
	// OpInvokeAction is wire.OpInvokeAction.
	OpInvokeAction = wire.OpInvokeAction
	// OpWriteProperty is wire.OpWriteProperty.
	OpWriteProperty = wire.OpWriteProperty
	// OpCancelAction is wire.OpCancelAction.
	OpCancelAction = wire.OpCancelAction
	// OpSignal is wire.OpSignal.
	OpSignal = wire.OpSignal
)

const (
	// PropSender is wire.PropSender.
	PropSender = wire.PropSender
	// PropTime is wire.PropTime.
	PropTime = wire.PropTime
	// PropSeq is wire.PropSeq.
	PropSeq = wire.PropSeq
	// PropStatus is wire.PropStatus.
	PropStatus = wire.PropStatus
	// PropActionID is wire.PropActionID.
	PropActionID = wire.PropActionID
	// PropError is wire.PropError.
	PropError = wire.PropError
	// PropMessage is wire.PropMessage.
	PropMessage = wire.PropMessage
	// PropOp is wire.PropOp.
	PropOp = wire.PropOp
	// PropThing is wire.PropThing.
	PropThing = wire.PropThing
	// PropName is wire.PropName.
	PropName = wire.PropName
	// PropReplies is wire.PropReplies.
	PropReplies = wire.PropReplies
	// PropRedelivered is wire.PropRedelivered.
	PropRedelivered = wire.PropRedelivered
	// PropSession is wire.PropSession.
	PropSession = wire.PropSession
)

const (
	// PresenceOnline is wire.PresenceOnline.
	PresenceOnline = wire.PresenceOnline
	// PresenceOffline is wire.PresenceOffline.
	PresenceOffline = wire.PresenceOffline
	// PresenceLost is wire.PresenceLost.
	PresenceLost = wire.PresenceLost
	// PresenceSleeping is wire.PresenceSleeping.
	PresenceSleeping = wire.PresenceSleeping
)

const (
	// RepliesAll is wire.RepliesAll.
	RepliesAll = wire.RepliesAll
	// RepliesFinal is wire.RepliesFinal.
	RepliesFinal = wire.RepliesFinal
)

const (
	// StatusPending is wire.StatusPending.
	StatusPending = wire.StatusPending
	// StatusDelivered is wire.StatusDelivered.
	StatusDelivered = wire.StatusDelivered
	// StatusRunning is wire.StatusRunning.
	StatusRunning = wire.StatusRunning
	// StatusWaiting is wire.StatusWaiting.
	StatusWaiting = wire.StatusWaiting
	// StatusCompleted is wire.StatusCompleted.
	StatusCompleted = wire.StatusCompleted
	// StatusFailed is wire.StatusFailed.
	StatusFailed = wire.StatusFailed
)

// wire/records.go

// PresenceState is wire.PresenceState.
type PresenceState = wire.PresenceState

// DesiredState is wire.DesiredState.
type DesiredState = wire.DesiredState

// DeltaEntry is wire.DeltaEntry.
type DeltaEntry = wire.DeltaEntry

// ActionHistoryPage is wire.ActionHistoryPage.
type ActionHistoryPage = wire.ActionHistoryPage

// wire/topics.go

// TopicKind is wire.TopicKind.
type TopicKind = wire.TopicKind

// Topic is wire.Topic.
type Topic = wire.Topic

const (
	// ThingsRoot is wire.ThingsRoot.
	ThingsRoot = wire.ThingsRoot
	// AgentsRoot is wire.AgentsRoot.
	AgentsRoot = wire.AgentsRoot
	// HubTDTopic is wire.HubTDTopic.
	HubTDTopic = wire.HubTDTopic
	// LegacyHubTDTopic is wire.LegacyHubTDTopic.
	LegacyHubTDTopic = wire.LegacyHubTDTopic
	// HubRoot is wire.HubRoot.
	HubRoot = wire.HubRoot
	// MaxIDLength is wire.MaxIDLength.
	MaxIDLength = wire.MaxIDLength
)

const (
	// TopicUnknown is wire.TopicUnknown.
	TopicUnknown = wire.TopicUnknown
	// TopicTD is wire.TopicTD.
	TopicTD = wire.TopicTD
	// TopicProperty is wire.TopicProperty.
	TopicProperty = wire.TopicProperty
	// TopicPropertySet is wire.TopicPropertySet.
	TopicPropertySet = wire.TopicPropertySet
	// TopicPropertyHistory is wire.TopicPropertyHistory.
	TopicPropertyHistory = wire.TopicPropertyHistory
	// TopicEvent is wire.TopicEvent.
	TopicEvent = wire.TopicEvent
	// TopicEventHistory is wire.TopicEventHistory.
	TopicEventHistory = wire.TopicEventHistory
	// TopicAction is wire.TopicAction.
	TopicAction = wire.TopicAction
	// TopicActionStatus is wire.TopicActionStatus.
	TopicActionStatus = wire.TopicActionStatus
	// TopicThingHistory is wire.TopicThingHistory.
	TopicThingHistory = wire.TopicThingHistory
	// TopicActionCancel is wire.TopicActionCancel.
	TopicActionCancel = wire.TopicActionCancel
	// TopicActionHistory is wire.TopicActionHistory.
	TopicActionHistory = wire.TopicActionHistory
	// TopicPropertyDesired is wire.TopicPropertyDesired.
	TopicPropertyDesired = wire.TopicPropertyDesired
	// TopicDelta is wire.TopicDelta.
	TopicDelta = wire.TopicDelta
	// TopicPresence is wire.TopicPresence.
	TopicPresence = wire.TopicPresence
	// TopicChannel is wire.TopicChannel.
	TopicChannel = wire.TopicChannel
	// TopicAgentTD is wire.TopicAgentTD.
	TopicAgentTD = wire.TopicAgentTD
	// TopicAgentEvent is wire.TopicAgentEvent.
	TopicAgentEvent = wire.TopicAgentEvent
	// TopicAgentProperty is wire.TopicAgentProperty.
	TopicAgentProperty = wire.TopicAgentProperty
	// TopicAgentRequests is wire.TopicAgentRequests.
	TopicAgentRequests = wire.TopicAgentRequests
	// TopicAgentReplies is wire.TopicAgentReplies.
	TopicAgentReplies = wire.TopicAgentReplies
	// TopicAgentPresence is wire.TopicAgentPresence.
	TopicAgentPresence = wire.TopicAgentPresence
	// TopicAgentSignal is wire.TopicAgentSignal.
	TopicAgentSignal = wire.TopicAgentSignal
)

// TDTopic is wire.TDTopic.
func TDTopic(thingID string) string { return wire.TDTopic(thingID) }

// PropertyTopic is wire.PropertyTopic.
func PropertyTopic(thingID, name string) string { return wire.PropertyTopic(thingID, name) }

// EventTopic is wire.EventTopic.
func EventTopic(thingID, name string) string { return wire.EventTopic(thingID, name) }

// ActionTopic is wire.ActionTopic.
func ActionTopic(thingID, name string) string { return wire.ActionTopic(thingID, name) }

// ActionStatusTopic is wire.ActionStatusTopic.
func ActionStatusTopic(thingID, name string) string { return wire.ActionStatusTopic(thingID, name) }

// RequestsTopic is wire.RequestsTopic.
func RequestsTopic(agentID string) string { return wire.RequestsTopic(agentID) }

// RepliesTopic is wire.RepliesTopic.
func RepliesTopic(agentID string) string { return wire.RepliesTopic(agentID) }

// LegacyRequestsFilter is wire.LegacyRequestsFilter.
func LegacyRequestsFilter(agentID string) string { return wire.LegacyRequestsFilter(agentID) }

// LegacyReplyTopic is wire.LegacyReplyTopic.
func LegacyReplyTopic(agentID, actionID string, status Status) string {
	return wire.LegacyReplyTopic(agentID, actionID, status)
}

// AllPropertiesFilter is wire.AllPropertiesFilter.
func AllPropertiesFilter(thingID string) string { return wire.AllPropertiesFilter(thingID) }

// AllEventsFilter is wire.AllEventsFilter.
func AllEventsFilter(thingID string) string { return wire.AllEventsFilter(thingID) }

// AllActionStatusFilter is wire.AllActionStatusFilter.
func AllActionStatusFilter(thingID string) string { return wire.AllActionStatusFilter(thingID) }

// ParseTopic is wire.ParseTopic.
func ParseTopic(s string) (Topic, error) { return wire.ParseTopic(s) }

// EscapeLevel is wire.EscapeLevel.
func EscapeLevel(s string) string { return wire.EscapeLevel(s) }

// UnescapeLevel is wire.UnescapeLevel.
func UnescapeLevel(level string) (string, error) { return wire.UnescapeLevel(level) }

// ValidateID is wire.ValidateID.
func ValidateID(s string) error { return wire.ValidateID(s) }
