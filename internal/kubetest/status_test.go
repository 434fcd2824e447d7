package kubetest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWriteStatus(t *testing.T) {
	tests := []struct {
		state     PodState
		phase     corev1.PodPhase
		ready     bool
		exitCode  int32 // of the main container, when terminated
		waiting   string
		completed bool
	}{
		{state: Ready(), phase: corev1.PodRunning, ready: true},
		{state: Succeeded(), phase: corev1.PodSucceeded, completed: true},
		{state: Failed(3, "boom"), phase: corev1.PodFailed, exitCode: 3, completed: true},
		{state: Waiting("CrashLoopBackOff", "back-off"), phase: corev1.PodPending, waiting: "CrashLoopBackOff"},
	}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "wait", Image: "busybox"}},
				Containers:     []corev1.Container{{Name: "main", Image: "app"}},
			}}
			pod.Status.QOSClass = corev1.PodQOSBestEffort
			writeStatus(pod, tt.state, "10.244.0.2", metav1.Now())
			s := pod.Status
			if s.Phase != tt.phase || podReady(pod) != tt.ready || s.QOSClass != corev1.PodQOSBestEffort {
				t.Fatalf("phase %s ready %v qos %q, want %s %v BestEffort", s.Phase, podReady(pod), s.QOSClass, tt.phase, tt.ready)
			}
			if len(s.InitContainerStatuses) != 1 || s.InitContainerStatuses[0].State.Terminated == nil {
				t.Errorf("init container status %+v, want terminated", s.InitContainerStatuses)
			}
			main := s.ContainerStatuses[0].State
			if tt.completed && (main.Terminated == nil || main.Terminated.ExitCode != tt.exitCode) {
				t.Errorf("main state %+v, want terminated with %d", main, tt.exitCode)
			}
			if tt.waiting != "" && (main.Waiting == nil || main.Waiting.Reason != tt.waiting) {
				t.Errorf("main state %+v, want waiting %s", main, tt.waiting)
			}
			if s.PodIP != "10.244.0.2" || s.HostIP != "127.0.0.1" {
				t.Errorf("ips %q %q", s.PodIP, s.HostIP)
			}
		})
	}
}

func TestServeLogs(t *testing.T) {
	s := newLogStore()
	s.write(logKey("ns", "p", "c"), []string{"a", "b", "c"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serve)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := map[string]string{
		"":              "a\nb\nc\n",
		"?tailLines=2":  "b\nc\n",
		"?tailLines=0":  "",
		"?tailLines=10": "a\nb\nc\n",
	}
	for query, want := range tests {
		resp, err := http.Get(srv.URL + "/containerLogs/ns/p/c" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("GET %q = %q, want %q", query, body, want)
		}
	}
}
