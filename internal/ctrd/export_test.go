package ctrd

// SetBeforeStart runs f between the lookup of a task and its start, until the
// returned function restores the default.
func SetBeforeStart(f func(id string)) (restore func()) {
	testHookBeforeStart = f
	return func() { testHookBeforeStart = func(string) {} }
}
