package broker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wotmq/wotmq/wot"
)

// restore publishes the retained state the hub owns (Mochi keeps retained
// messages in memory only): the hub TD, every twin TD, the latest property
// values and the latest action statuses. It runs before clients connect.
func (h *Hub) restore(ctx context.Context) error {
	hub, err := h.hubTD()
	if err != nil {
		return fmt.Errorf("broker: hub TD: %w", err)
	}
	h.publish(wot.HubTDTopic, hub, true, nil)
	for _, e := range h.dir.List() {
		twin, err := h.twinTD(e.TD)
		if err != nil {
			h.log.Error().Err(err).Str("thing", e.ThingID).Msg("cannot rebuild twin TD")
			continue
		}
		h.publish(wot.TDTopic(e.ThingID), twin, true, nil)
		props, err := h.outbox.LatestAll(ctx, e.ThingID, wot.KindProperty)
		if err != nil {
			return err
		}
		for _, p := range props {
			h.publish(wot.PropertyTopic(e.ThingID, p.Name), p.Value, true, stamp(p.Sender, p.Time))
		}
		reqs, err := h.inbox.LatestAll(ctx, e.ThingID)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if r.Op == wot.OpInvokeAction {
				st, _ := json.Marshal(r.ActionStatus)
				h.publish(wot.ActionStatusTopic(r.ThingID, r.Name), st, true, nil)
			}
		}
		desired, err := h.inbox.DesiredAll(ctx, e.ThingID)
		if err != nil {
			return err
		}
		for _, d := range desired {
			h.publishDesired(ctx, e.ThingID, d.Name)
		}
		h.publishDelta(ctx, e.ThingID)
		// No agent is connected yet: every Thing starts offline, in a new
		// transition so that its sequence number moves on.
		h.setPresence(ctx, e.ThingID, e.AgentID, wot.PresenceOffline, false)
		if p, err := h.presence.Get(ctx, e.ThingID); err == nil {
			b, _ := json.Marshal(presenceRecord{State: p.State, Since: p.Since, Seq: p.Seq})
			h.publish(wot.Topic{Kind: wot.TopicPresence, ThingID: e.ThingID}.String(), b, true, stamp(e.AgentID, p.Since))
		}
	}
	h.sweep(ctx)
	return nil
}
