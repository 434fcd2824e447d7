package network

// NetNSPath is where CreateNetNS puts the container's namespace, so that a
// caller cleaning up after a crash can name it without a record.
func (m *Manager) NetNSPath(containerID string) string { return m.netNSPath(containerID) }
