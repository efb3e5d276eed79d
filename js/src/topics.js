// The wotmq topic scheme (docs/topics.md): escaping of IDs into one topic
// level, the topics a consumer and an agent use, and MQTT filter matching.

const MAX_ID_BYTES = 512;

/**
 * Escapes an ID (Thing ID, agent ID, affordance name) into one topic level:
 * % / + # become %25 %2F %2B %23.
 * @param {string} s
 * @returns {string}
 */
export function escapeLevel(s) {
  return s.replace(/[%/+#]/g, (c) => ({ '%': '%25', '/': '%2F', '+': '%2B', '#': '%23' })[c]);
}

/**
 * Reverses escapeLevel; throws on any other % sequence.
 * @param {string} level
 * @returns {string}
 */
export function unescapeLevel(level) {
  return level.replace(/%(25|2F|2B|23)|%/g, (m, code) => {
    if (!code) throw new Error(`invalid escape in topic level ${JSON.stringify(level)}`);
    return { 25: '%', '2F': '/', '2B': '+', 23: '#' }[code];
  });
}

/**
 * Checks an ID the way the hub does: not empty, at most 512 bytes of UTF-8,
 * no control characters. Returns an explanation, or '' when it is valid.
 * @param {string} id
 */
export function idProblem(id) {
  if (typeof id !== 'string' || id === '') return 'empty';
  if (new TextEncoder().encode(id).length > MAX_ID_BYTES) return `over ${MAX_ID_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'has a control character';
  return '';
}

const e = escapeLevel;

/** Topics of the scheme, by what they are for. */
export const topics = {
  directory: () => 'things/+/td',
  hubTD: () => '$wotmq/td',
  td: (id) => `things/${e(id)}/td`,
  property: (id, name) => `things/${e(id)}/properties/${e(name)}`,
  allProperties: (id) => `things/${e(id)}/properties/+`,
  propertySet: (id, name) => `things/${e(id)}/properties/${e(name)}/set`,
  propertyHistory: (id, name) => `things/${e(id)}/properties/${e(name)}/history`,
  desired: (id, name) => `things/${e(id)}/properties/${e(name)}/desired`,
  delta: (id) => `things/${e(id)}/delta`,
  event: (id, name) => `things/${e(id)}/events/${e(name)}`,
  allEvents: (id) => `things/${e(id)}/events/+`,
  eventHistory: (id, name) => `things/${e(id)}/events/${e(name)}/history`,
  action: (id, name) => `things/${e(id)}/actions/${e(name)}`,
  actionStatus: (id, name) => `things/${e(id)}/actions/${e(name)}/status`,
  allActionStatus: (id) => `things/${e(id)}/actions/+/status`,
  actionCancel: (id, name) => `things/${e(id)}/actions/${e(name)}/cancel`,
  actionHistory: (id, name) => `things/${e(id)}/actions/${e(name)}/history`,
  thingHistory: (id) => `things/${e(id)}/history`,
  presence: (id) => `things/${e(id)}/presence`,
  channel: (id) => `things/${e(id)}/channel`,
  agentTD: (agent, id) => `agents/${e(agent)}/things/${e(id)}/td`,
  agentEvent: (agent, id, name) => `agents/${e(agent)}/things/${e(id)}/events/${e(name)}`,
  agentProperty: (agent, id, name) => `agents/${e(agent)}/things/${e(id)}/properties/${e(name)}`,
  agentPresence: (agent, id) => `agents/${e(agent)}/things/${e(id)}/presence`,
  requests: (agent) => `agents/${e(agent)}/requests`,
  replies: (agent) => `agents/${e(agent)}/replies`,
  signals: (agent) => `agents/${e(agent)}/signals`,
  clientReplies: (account, clientId) => `replies/${e(account)}/${e(clientId)}`,
};

/**
 * What a topic under things/ says: the Thing, the kind and the name (all
 * unescaped), or null for any other topic.
 * @param {string} topic
 * @returns {{thingId: string, kind: string, name: string} | null}
 */
export function parseThingTopic(topic) {
  const l = topic.split('/');
  if (l[0] !== 'things' || l.length < 3) return null;
  try {
    const thingId = unescapeLevel(l[1]);
    const rest = l.slice(2);
    const name = rest.length >= 2 ? unescapeLevel(rest[1]) : '';
    switch (rest[0]) {
      case 'td': case 'delta': case 'presence': case 'history': case 'channel':
        return rest.length === 1 ? { thingId, kind: rest[0], name: '' } : null;
      case 'properties':
        if (rest.length === 2) return { thingId, kind: 'property', name };
        if (rest.length === 3) return { thingId, kind: `property-${rest[2]}`, name };
        return null;
      case 'events':
        if (rest.length === 2) return { thingId, kind: 'event', name };
        if (rest.length === 3) return { thingId, kind: `event-${rest[2]}`, name };
        return null;
      case 'actions':
        if (rest.length === 2) return { thingId, kind: 'action', name };
        if (rest.length === 3) return { thingId, kind: `action-${rest[2]}`, name };
        return null;
    }
  } catch {
    return null;
  }
  return null;
}

/**
 * Reports whether an MQTT topic filter (with + and #) matches a topic.
 * @param {string} filter
 * @param {string} topic
 */
export function matchFilter(filter, topic) {
  if (filter.startsWith('$share/')) filter = filter.split('/').slice(2).join('/');
  const f = filter.split('/');
  const t = topic.split('/');
  if (t[0].startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
