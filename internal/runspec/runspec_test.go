package runspec

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestHealthCheckArgv(t *testing.T) {
	tests := []struct {
		name       string
		test, want []string
	}{
		{name: "CMD runs as is", test: []string{"CMD", "curl", "-f", "http://localhost"}, want: []string{"curl", "-f", "http://localhost"}},
		{name: "CMD without arguments", test: []string{"CMD"}, want: []string{}},
		{name: "CMD-SHELL through sh", test: []string{"CMD-SHELL", "curl -f localhost || exit 1"}, want: []string{"/bin/sh", "-c", "curl -f localhost || exit 1"}},
		{name: "CMD-SHELL words joined", test: []string{"CMD-SHELL", "a", "b"}, want: []string{"/bin/sh", "-c", "a b"}},
		{name: "bare string through sh", test: []string{"pg_isready -U postgres"}, want: []string{"/bin/sh", "-c", "pg_isready -U postgres"}},
		{name: "bare words through sh", test: []string{"pg_isready", "-U", "postgres"}, want: []string{"/bin/sh", "-c", "pg_isready -U postgres"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HealthCheck{Test: tt.test}.Argv()
			if len(got) != len(tt.want) || (len(got) > 0 && !reflect.DeepEqual(got, tt.want)) {
				t.Errorf("Argv(%q) = %q, want %q", tt.test, got, tt.want)
			}
		})
	}
}

// TestHealthCheckJSON pins the encoding berth records on containers: a change
// would make the containers of an older berth lose their health checks.
func TestHealthCheckJSON(t *testing.T) {
	hc := HealthCheck{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second,
		StartPeriod: 3 * time.Second, StartInterval: 4 * time.Second, Retries: 5}
	b, err := json.Marshal(hc)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"test":["CMD","true"],"interval":1000000000,"timeout":2000000000,"start_period":3000000000,"start_interval":4000000000,"retries":5}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var back HealthCheck
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, hc) {
		t.Errorf("round trip %+v, %v", back, err)
	}
}

// TestImageHealthJSON reads a Docker image config's Healthcheck, whose keys are
// capitalised and durations in nanoseconds.
func TestImageHealthJSON(t *testing.T) {
	const config = `{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Timeout":1000000000,"StartPeriod":2000000000,"StartInterval":3000000000,"Retries":4}`
	var ih ImageHealth
	if err := json.Unmarshal([]byte(config), &ih); err != nil {
		t.Fatal(err)
	}
	want := ImageHealth{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second, Timeout: time.Second, StartPeriod: 2 * time.Second, StartInterval: 3 * time.Second, Retries: 4}
	if !reflect.DeepEqual(ih, want) {
		t.Errorf("ImageHealth %+v, want %+v", ih, want)
	}
}
