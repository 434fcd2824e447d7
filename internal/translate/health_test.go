package translate

import (
	"reflect"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/runspec"
)

func TestEffectiveHealthCheck(t *testing.T) {
	d := func(v time.Duration) *types.Duration { x := types.Duration(v); return &x }
	defaults := func(test ...string) *runspec.HealthCheck {
		return &runspec.HealthCheck{Test: test, Interval: 30 * time.Second, Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 3}
	}
	image := &runspec.ImageHealth{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 10 * time.Second, Timeout: 2 * time.Second,
		StartPeriod: 20 * time.Second, StartInterval: time.Second, Retries: 5}
	fromImage := &runspec.HealthCheck{Test: image.Test, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: 20 * time.Second, StartInterval: time.Second, Retries: 5}
	tests := []struct {
		name  string
		svc   *types.HealthCheckConfig
		image *runspec.ImageHealth
		want  *runspec.HealthCheck
	}{
		{name: "none"},
		{name: "image only", image: image, want: fromImage},
		{name: "image with defaults", image: &runspec.ImageHealth{Test: []string{"CMD", "true"}}, want: defaults("CMD", "true")},
		{name: "service only, defaults", svc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}, want: defaults("CMD", "true")},
		{
			name: "service only, every key",
			svc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}, Interval: d(time.Second), Timeout: d(2 * time.Second),
				StartPeriod: d(3 * time.Second), StartInterval: d(4 * time.Second), Retries: ptr(uint64(7))},
			want: &runspec.HealthCheck{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, StartInterval: 4 * time.Second, Retries: 7},
		},
		{
			name:  "service test over the image's, image timings kept",
			svc:   &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}},
			image: image,
			want:  &runspec.HealthCheck{Test: []string{"CMD", "true"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: 20 * time.Second, StartInterval: time.Second, Retries: 5},
		},
		{
			name:  "service timings over the image's, image test kept",
			svc:   &types.HealthCheckConfig{Interval: d(time.Minute), Retries: ptr(uint64(1))},
			image: image,
			want:  &runspec.HealthCheck{Test: image.Test, Interval: time.Minute, Timeout: 2 * time.Second, StartPeriod: 20 * time.Second, StartInterval: time.Second, Retries: 1},
		},
		{
			name:  "zero durations inherit",
			svc:   &types.HealthCheckConfig{Interval: d(0), Timeout: d(0), StartPeriod: d(0), StartInterval: d(0)},
			image: image,
			want:  fromImage,
		},
		{
			// Docker: "0 means inherit", like the durations
			name:  "retries 0 inherits the image's",
			svc:   &types.HealthCheckConfig{Retries: ptr(uint64(0))},
			image: image,
			want:  fromImage,
		},
		{name: "retries 0 keeps the default", svc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}, Retries: ptr(uint64(0))}, want: defaults("CMD", "true")},
		{name: "disable", svc: &types.HealthCheckConfig{Disable: true}, image: image},
		{name: "disable with a test", svc: &types.HealthCheckConfig{Disable: true, Test: types.HealthCheckTest{"CMD", "true"}}},
		{name: "NONE in the service", svc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"NONE"}}, image: image},
		{name: "NONE in the image", image: &runspec.ImageHealth{Test: []string{"NONE"}}},
		{name: "service test over the image's NONE", svc: &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD", "true"}}, image: &runspec.ImageHealth{Test: []string{"NONE"}}, want: defaults("CMD", "true")},
		{name: "service without a test, image without one", svc: &types.HealthCheckConfig{Interval: d(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EffectiveHealthCheck(tt.svc, tt.image)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EffectiveHealthCheck = %+v, want %+v", got, tt.want)
			}
		})
	}
}
