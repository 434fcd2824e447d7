// Package logs owns the on-disk log of a container: the writer that berth-logger (the
// logging binary the containerd shim starts per container) uses to store stdout and stderr
// with timestamps and rotation, the readers behind `berth logs` (Read, Follow, Merge) and
// the formatting of its output (Prefix, FormatLine).
//
// The file format is Docker's json-file format, one JSON object per line:
//
//	{"log":"text\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}
//
// A "log" value without the trailing "\n" is a fragment: a line longer than MaxLineSize is
// split into several records, as Docker splits it, and the readers join the fragments
// again. Rotated files are named <path>.1 (the newest) to <path>.<max-file - 1> (the oldest).
//
// The package imports only the standard library: berth-logger runs once per container and
// links it, and every package init it pulls in costs memory in each of those processes.
package logs
