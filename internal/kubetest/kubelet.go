package kubetest

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// everything selects every pod of a namespace.
var everything = labels.Everything()

// Policy decides what the fake kubelet reports for a new pod of a namespace given to
// RunPods. It is asked once per pod.
type Policy func(*corev1.Pod) PodState

// DefaultPolicy is what a healthy cluster does: pods of Jobs complete, every other pod
// becomes Ready.
func DefaultPolicy(pod *corev1.Pod) PodState {
	for _, ref := range pod.OwnerReferences {
		if ref.Kind == "Job" {
			return Succeeded()
		}
	}
	return Ready()
}

// fakeKubelet does the kubelet's part the control plane waits for: it confirms the
// deletion of pods bound to its Node (without it they stay Terminating and foreground
// deletion never ends), applies the policies of RunPods, and serves container logs.
type fakeKubelet struct {
	client kubernetes.Interface
	node   string
	logs   *logStore
	server *http.Server

	lister listersv1.PodLister
	queue  workqueue.TypedRateLimitingInterface[string]
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu       sync.Mutex
	policies map[string]Policy // by namespace
	handled  map[types.UID]bool
	ips      map[types.UID]string
}

// registerNode starts the fake kubelet's log server and its pod watch, then creates the
// Node, Ready, whose kubelet endpoint is that server.
func (c *Cluster) registerNode(ctx context.Context, p *pki) error {
	k := &fakeKubelet{
		client:   c.Client,
		node:     c.NodeName,
		logs:     newLogStore(),
		policies: map[string]Policy{},
		handled:  map[types.UID]bool{},
		ips:      map[types.UID]string{},
	}
	port, err := k.serveLogs(p)
	if err != nil {
		return err
	}
	c.kubelet = k
	k.watchPods()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: c.NodeName, Labels: map[string]string{
		"kubernetes.io/hostname": c.NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
	}}}
	node, err = c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("register node %s: %w", c.NodeName, err)
	}
	node.Status = nodeStatus(port)
	if _, err := c.Client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s status: %w", c.NodeName, err)
	}
	return nil
}

func nodeStatus(kubeletPort int) corev1.NodeStatus {
	now := metav1.Now()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("16Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: capacity,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "berth kubetest fake kubelet", LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kubeletPort)}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion: Version, ContainerRuntimeVersion: "containerd://1.6.20",
			OperatingSystem: "linux", Architecture: "amd64",
		},
	}
}

// RunPods makes the fake kubelet apply policy (DefaultPolicy when nil) to every pod of
// namespace, present and future, once each: a test of `kube up --wait` runs while the
// pods come up. Pods can still be marked by hand afterwards.
func (c *Cluster) RunPods(t testing.TB, namespace string, policy Policy) {
	t.Helper()
	if policy == nil {
		policy = DefaultPolicy
	}
	k := c.kubelet
	k.mu.Lock()
	k.policies[namespace] = policy
	k.mu.Unlock()
	t.Cleanup(func() {
		k.mu.Lock()
		delete(k.policies, namespace)
		k.mu.Unlock()
	})
	pods, err := k.lister.Pods(namespace).List(everything)
	if err != nil {
		t.Fatalf("list pods of %s: %v", namespace, err)
	}
	for _, pod := range pods {
		k.queue.Add(pod.Namespace + "/" + pod.Name)
	}
}

// watchPods runs an informer on all pods and one worker for what it reports.
func (k *fakeKubelet) watchPods() {
	ctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	k.queue = workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	factory := informers.NewSharedInformerFactory(k.client, 0)
	pods := factory.Core().V1().Pods()
	k.lister = pods.Lister()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			k.queue.Add(key)
		}
	}
	_, _ = pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	k.done.Add(1)
	go func() {
		defer k.done.Done()
		for k.next(ctx) {
		}
	}()
	context.AfterFunc(ctx, func() { factory.Shutdown() })
}

// next handles one queued pod; false once the queue is shut down.
func (k *fakeKubelet) next(ctx context.Context) bool {
	key, quit := k.queue.Get()
	if quit {
		return false
	}
	defer k.queue.Done(key)
	if err := k.sync(ctx, key); err != nil && ctx.Err() == nil {
		k.queue.AddRateLimited(key)
		return true
	}
	k.queue.Forget(key)
	return true
}

func (k *fakeKubelet) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := k.lister.Pods(ns).Get(name)
	if err != nil {
		return nil // gone
	}
	if pod.DeletionTimestamp != nil {
		return k.confirmDeletion(ctx, pod)
	}
	k.mu.Lock()
	policy := k.policies[ns]
	first := !k.handled[pod.UID]
	if policy != nil {
		k.handled[pod.UID] = true
	}
	k.mu.Unlock()
	if policy == nil || !first {
		return nil
	}
	state := policy(pod)
	if err := k.mark(ctx, ns, name, state); err != nil {
		k.mu.Lock()
		delete(k.handled, pod.UID)
		k.mu.Unlock()
		return err
	}
	return nil
}

// confirmDeletion does what the kubelet does once a deleted pod's containers stopped:
// delete it for good. The API server already did so for unbound and finished pods.
func (k *fakeKubelet) confirmDeletion(ctx context.Context, pod *corev1.Pod) error {
	if pod.Spec.NodeName != k.node {
		return nil
	}
	k.logs.closePod(pod.Namespace, pod.Name)
	zero := int64(0)
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	return ignoreNotFound(err)
}

// podIP gives each pod its own address in 10.244.0.0/16, stable across marks.
func (k *fakeKubelet) podIP(uid types.UID) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if ip, ok := k.ips[uid]; ok {
		return ip
	}
	n := uint32(len(k.ips) + 2)
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, 10<<24|244<<16|n&0xffff)
	k.ips[uid] = ip.String()
	return k.ips[uid]
}

// serveLogs starts the kubelet's HTTPS endpoint for container logs on 127.0.0.1. The
// API server checks no kubelet certificate (none is configured), so the API server's
// own serving certificate does.
func (k *fakeKubelet) serveLogs(p *pki) (int, error) {
	cert, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		return 0, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", k.logs.serve)
	k.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	go func() { _ = k.server.Serve(tl) }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (k *fakeKubelet) stop() {
	if k.cancel != nil {
		k.cancel()
		k.queue.ShutDown()
		k.done.Wait()
	}
	if k.server != nil {
		k.logs.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := k.server.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = k.server.Close()
		}
	}
}
