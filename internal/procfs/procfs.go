// Package procfs reads what top and stats show from /proc: process tables in
// `ps -ef`'s columns, network counters, the host's memory.
package procfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc on every Linux
// architecture berth runs on.
const clockTicks = 100

// FS reads processes from a /proc tree: the host's, or a fake one in
// tests.
type FS struct {
	root   string
	user   func(uid string) string
	uptime func() (time.Duration, error) // the boot clock; nil reads the host's
}

// procStat holds the fields of /proc/PID/stat that ps -ef shows.
type procStat struct {
	comm         string
	ppid         uint64
	tty          uint64
	utime, stime uint64 // clock ticks
	start        uint64 // clock ticks after boot
}

// Titles are the columns of `ps -ef`, which docker top runs.
var Titles = []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}

// Host is the host's /proc.
func Host() FS { return FS{root: "/proc", user: userName} }

// Table returns a `ps -ef` row per PID, sorted by PID; processes that exit while
// being read are left out.
func (p FS) Table(pids []uint32, now time.Time) ([][]string, error) { return p.table(pids, now) }

// table returns a `ps -ef` row per PID, sorted by PID; processes that
// exit while being read are left out.
func (p FS) table(pids []uint32, now time.Time) ([][]string, error) {
	boot, err := p.bootTime()
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(pids)
	slices.Sort(sorted)
	rows := [][]string{}
	for _, pid := range sorted {
		row, err := p.process(pid, boot, now)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (p FS) bootTime() (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(p.root, "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("read boot time: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("read boot time: %w", err)
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("read boot time: no btime in %s", filepath.Join(p.root, "stat"))
}

func (p FS) process(pid uint32, boot, now time.Time) ([]string, error) {
	dir := filepath.Join(p.root, strconv.FormatUint(uint64(pid), 10))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	st, err := parseProcStat(string(b))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return nil, err
	}
	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return nil, err
	}
	started := boot.Add(time.Duration(st.start) * time.Second / clockTicks)
	cpu := st.utime + st.stime
	return []string{
		p.user(statusUID(string(status))),
		strconv.FormatUint(uint64(pid), 10),
		strconv.FormatUint(st.ppid, 10),
		strconv.Itoa(cpuPercent(cpu, now.Sub(started))),
		startTime(started, now),
		ttyName(st.tty),
		cpuTime(cpu),
		command(cmdline, st.comm),
	}, nil
}

// parseProcStat reads /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from its last ')'.
func parseProcStat(s string) (procStat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat %q", s)
	}
	var errs []error
	num := func(i int) uint64 {
		n, err := strconv.ParseUint(f[i], 10, 64)
		errs = append(errs, err)
		return n
	}
	st := procStat{comm: s[open+1 : end], ppid: num(1), tty: num(4), utime: num(11), stime: num(12), start: num(19)}
	return st, errors.Join(errs...)
}

// statusUID is the effective UID of /proc/PID/status, which ps shows.
func statusUID(status string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(v); len(f) >= 2 {
				return f[1]
			}
		}
	}
	return "?"
}

// cpuPercent is ps's C: CPU time over lifetime, in whole percent, at most 99.
func cpuPercent(ticks uint64, lifetime time.Duration) int {
	if lifetime <= 0 {
		return 0
	}
	return min(int(float64(ticks)/clockTicks/lifetime.Seconds()*100), 99)
}

// startTime is ps's STIME: the time today, the date this year, else the year.
func startTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	switch {
	case t.Year() != now.Year():
		return t.Format("2006")
	case t.YearDay() != now.YearDay():
		return t.Format("Jan02")
	}
	return t.Format("15:04")
}

// ttyName decodes stat's tty_nr as ps names it.
func ttyName(nr uint64) string {
	major := (nr >> 8) & 0xfff
	minor := (nr & 0xff) | ((nr >> 12) & 0xfff00)
	switch {
	case nr == 0:
		return "?"
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", minor+(major-136)*256)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	}
	return "?"
}

// cpuTime is ps's TIME: [DD-]HH:MM:SS of CPU.
func cpuTime(ticks uint64) string {
	s := ticks / clockTicks
	if d := s / 86400; d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, s/3600%24, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// command is the NUL-separated command line joined by spaces, or [comm]
// for processes without one.
func command(cmdline []byte, comm string) string {
	s := strings.TrimRight(string(cmdline), "\x00")
	if s == "" {
		return "[" + comm + "]"
	}
	return strings.ReplaceAll(s, "\x00", " ")
}

// userName names a UID from the host's user database, as docker top (ps
// on the host) does; unknown UIDs stay numbers.
func userName(uid string) string {
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// ParseNetDev sums received and sent bytes of /proc/PID/net/dev over every
// interface but loopback.
func ParseNetDev(s string) (rx, tx uint64) {
	for _, line := range strings.Split(s, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || strings.TrimSpace(name) == "lo" || len(f) < 16 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 == nil && err2 == nil {
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx
}

// MemTotal is MemTotal of /proc/meminfo in bytes, 0 if unknown.
func MemTotal(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// StartedAt is when the process started, to the clock tick: its start in
// /proc/PID/stat counts ticks since boot, which is placed against the boot clock
// now (btime, in whole seconds, would be a second off).
func (p FS) StartedAt(pid uint32, now time.Time) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(p.root, strconv.FormatUint(uint64(pid), 10), "stat"))
	if err != nil {
		return time.Time{}, err
	}
	st, err := parseProcStat(string(b))
	if err != nil {
		return time.Time{}, fmt.Errorf("process %d: %w", pid, err)
	}
	up, err := p.sinceBoot()
	if err != nil {
		return time.Time{}, err
	}
	age := up - time.Duration(st.start)*time.Second/clockTicks
	return now.Add(-max(age, 0)), nil
}

// sinceBoot reads the boot clock, the one /proc/PID/stat's start counts on.
func (p FS) sinceBoot() (time.Duration, error) {
	if p.uptime != nil {
		return p.uptime()
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("read the boot clock: %w", err)
	}
	return time.Duration(ts.Nano()), nil
}
