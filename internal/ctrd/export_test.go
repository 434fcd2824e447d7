package ctrd

// SetBeforeStart runs f between the lookup of a task and its start, until the
// returned function restores the default.
func SetBeforeStart(f func(id string)) (restore func()) {
	testHookBeforeStart = f
	return func() { testHookBeforeStart = func(string) {} }
}

// ShimsOf returns the pids of the shims serving the task id of the namespace.
func ShimsOf(namespace, id string) []int { return shimsOf(namespace, id) }
