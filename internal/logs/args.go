package logs

import "strconv"

// The arguments of berth-logger. containerd's shim turns the query of a binary:// log URI
// into argv as "key value" pairs, in map order (random), so every argument is a flag with
// a value and their order means nothing.
const (
	ArgPath    = "--path"     // the log file, absolute
	ArgMaxSize = "--max-size" // bytes, or a size with a unit as in ParseRotateOptions
	ArgMaxFile = "--max-file" // files kept, the current one included
)

// LoggerArgs returns the arguments that make berth-logger store a container's output at
// path, rotated as opt says (zero fields: the defaults). Hand them to the containerd
// client as cio.BinaryIO(loggerPath, LoggerArgs(path, opt)); LoggerArgs itself stays free
// of containerd so that berth-logger can share this package.
func LoggerArgs(path string, opt RotateOptions) map[string]string {
	args := map[string]string{ArgPath: path}
	if opt.MaxSize > 0 {
		args[ArgMaxSize] = strconv.FormatInt(opt.MaxSize, 10)
	}
	if opt.MaxFiles > 0 {
		args[ArgMaxFile] = strconv.Itoa(opt.MaxFiles)
	}
	return args
}
