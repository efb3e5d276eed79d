package inbox

import "github.com/wotmq/wotmq/wire"

// Counts returns the number of unfinished requests of all agents by
// status, from memory (for metrics).
func (s *Store) Counts() map[wire.Status]int {
	out := map[wire.Status]int{}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	for _, q := range s.queues {
		for _, e := range q {
			out[e.Status]++
		}
	}
	return out
}
