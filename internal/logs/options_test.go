package logs

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRotateOptions(t *testing.T) {
	tests := []struct {
		opts    map[string]string
		want    RotateOptions
		wantErr string // part of the error; "" for none
	}{
		{nil, RotateOptions{MaxSize: 10_000_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "10m"}, RotateOptions{MaxSize: 10_000_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "1g", "max-file": "5"}, RotateOptions{MaxSize: 1_000_000_000, MaxFiles: 5}, ""},
		{map[string]string{"max-size": "100k"}, RotateOptions{MaxSize: 100_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "100K"}, RotateOptions{MaxSize: 100_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "20MB"}, RotateOptions{MaxSize: 20_000_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "1.5m"}, RotateOptions{MaxSize: 1_500_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "10 m"}, RotateOptions{MaxSize: 10_000_000, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "2048"}, RotateOptions{MaxSize: 2048, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "512b"}, RotateOptions{MaxSize: 512, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "1KiB"}, RotateOptions{MaxSize: 1024, MaxFiles: 3}, ""},
		{map[string]string{"max-size": "1mi"}, RotateOptions{MaxSize: 1 << 20, MaxFiles: 3}, ""},
		{map[string]string{"max-file": "1"}, RotateOptions{MaxSize: 10_000_000, MaxFiles: 1}, ""},
		{map[string]string{"max-file": " 2 "}, RotateOptions{MaxSize: 10_000_000, MaxFiles: 2}, ""},
		{map[string]string{"max-size": "10m", "compress": "true", "labels": "a"}, RotateOptions{MaxSize: 10_000_000, MaxFiles: 3}, ""},

		{map[string]string{"max-size": ""}, RotateOptions{}, `max-size ""`},
		{map[string]string{"max-size": "ten"}, RotateOptions{}, `max-size "ten"`},
		{map[string]string{"max-size": "10x"}, RotateOptions{}, `unknown unit "x"`},
		{map[string]string{"max-size": "10mbb"}, RotateOptions{}, `unknown unit`},
		{map[string]string{"max-size": "0"}, RotateOptions{}, `max-size "0": size out of range`},
		{map[string]string{"max-size": "-1"}, RotateOptions{}, `max-size "-1"`},
		{map[string]string{"max-size": "1e3"}, RotateOptions{}, `max-size "1e3"`},
		{map[string]string{"max-size": "0.1"}, RotateOptions{}, `out of range`},
		{map[string]string{"max-size": "99999999p"}, RotateOptions{}, `out of range`},
		{map[string]string{"max-file": "0"}, RotateOptions{}, `max-file "0": want a whole number of files, at least 1`},
		{map[string]string{"max-file": "-2"}, RotateOptions{}, `max-file "-2"`},
		{map[string]string{"max-file": "three"}, RotateOptions{}, `max-file "three"`},
		{map[string]string{"max-file": "1.5"}, RotateOptions{}, `max-file "1.5"`},
	}
	for _, tt := range tests {
		got, err := ParseRotateOptions(tt.opts)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseRotateOptions(%v): %v", tt.opts, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseRotateOptions(%v) = %+v, want %+v", tt.opts, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseRotateOptions(%v) error = %v, want one containing %q", tt.opts, err, tt.wantErr)
		}
	}
}

func TestUnsupportedOptions(t *testing.T) {
	got := UnsupportedOptions(map[string]string{"max-size": "1m", "max-file": "2", "compress": "true", "tag": "x"})
	if want := []string{"compress", "tag"}; !slices.Equal(got, want) {
		t.Fatalf("UnsupportedOptions = %q, want %q", got, want)
	}
	if got := UnsupportedOptions(map[string]string{"max-size": "1m"}); got != nil {
		t.Fatalf("UnsupportedOptions = %q, want none", got)
	}
}

func TestLoggerArgs(t *testing.T) {
	got := LoggerArgs("/var/lib/berth/logs/c1/c1.log", RotateOptions{MaxSize: 1000, MaxFiles: 2})
	want := map[string]string{"--path": "/var/lib/berth/logs/c1/c1.log", "--max-size": "1000", "--max-file": "2"}
	if len(got) != len(want) {
		t.Fatalf("LoggerArgs = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("LoggerArgs = %v, want %v", got, want)
		}
	}
	if got := LoggerArgs("/x.log", RotateOptions{}); len(got) != 1 {
		t.Fatalf("LoggerArgs with defaults = %v, want only the path", got)
	}
}
