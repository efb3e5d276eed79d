package hub

import (
	"github.com/wotmq/wotmq/bridge/homeassistant"
	"github.com/wotmq/wotmq/bridge/homie"
)

// bridges are the optional views of the twins in other conventions
// (docs/bridges.md). They are built before the core starts, so that they
// hear the state it restores, and closed before it closes.
type bridges struct {
	ha    *homeassistant.Bridge
	homie *homie.Bridge
}

// checkBridges refuses bridge options that cannot work, before anything
// is opened.
func (o *Options) checkBridges() error {
	if o.HomeAssistant {
		return homeassistant.CheckPrefix(o.HomeAssistantPrefix)
	}
	return nil
}

// startBridges builds the bridges the options ask for over the core.
func (h *Hub) startBridges() {
	core := h.broker.Core()
	if h.opts.HomeAssistant {
		h.bridges.ha = homeassistant.New(homeassistant.Options{
			Core:   core,
			Prefix: h.opts.HomeAssistantPrefix,
			Origin: homeassistant.Origin{Version: h.opts.Build.Version},
			Logger: h.log,
		})
	}
	if h.opts.Homie {
		h.bridges.homie = homie.New(homie.Options{Core: core, Authz: h.authz, Logger: h.log, Now: h.opts.Now})
	}
}

// closeBridges stops them; what they published stays retained.
func (h *Hub) closeBridges() {
	if h.bridges.ha != nil {
		h.bridges.ha.Close()
	}
	if h.bridges.homie != nil {
		h.bridges.homie.Close()
	}
}
