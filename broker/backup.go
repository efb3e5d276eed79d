package broker

// StorageError turns a full disk found by a write into storage_full (and
// refuses writes until the next disk check finds space); other errors
// are returned as they are.
func (h *Hub) StorageError(err error) error { return h.storageError(err) }

// WritesRefused reports whether a write would be refused now for the disk
// reserve (the write path's decision, not the last disk check's).
func (h *Hub) WritesRefused() bool { return h.writesRefused() }
