package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// startEtcd runs etcd with both its ports on 127.0.0.1 and returns its client URL once
// it reports itself healthy.
func (c *Cluster) startEtcd(ctx context.Context, binDir string, clientPort, peerPort int) (string, error) {
	clientURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	args := []string{
		"--name=default",
		"--data-dir=" + filepath.Join(c.dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--logger=zap",
		"--log-level=warn",
	}
	p, err := c.run(ctx, "etcd", filepath.Join(binDir, "etcd"), args)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: time.Second}
	err = poll(ctx, 30*time.Second, func() (bool, error) {
		if err := p.exitedErr(); err != nil {
			return false, err
		}
		body, err := get(client, clientURL+"/health", "")
		return err == nil && strings.Contains(body, `"health":"true"`), err
	})
	if err != nil {
		return "", fmt.Errorf("etcd not healthy on %s: %w\n%s", clientURL, err, p.logTail())
	}
	return clientURL, nil
}

// startAPIServer runs kube-apiserver on 127.0.0.1 with static tokens for the admin and
// the controller manager, RBAC, and service-account tokens, and waits for /readyz.
func (c *Cluster) startAPIServer(ctx context.Context, binDir string, p *pki, etcdURL string, port int) error {
	adminToken, managerToken := randomToken(), randomToken()
	tokenFile := filepath.Join(c.dir, "tokens.csv")
	tokens := fmt.Sprintf("%s,admin,admin,\"system:masters\"\n%s,system:kube-controller-manager,kcm,\"system:masters\"\n",
		adminToken, managerToken)
	if err := os.WriteFile(tokenFile, []byte(tokens), 0o600); err != nil {
		return err
	}
	c.Host = "https://127.0.0.1:" + strconv.Itoa(port)
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.certFile,
		"--tls-private-key-file=" + p.keyFile,
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.saPubFile,
		"--service-account-signing-key-file=" + p.saKeyFile,
		"--service-cluster-ip-range=10.96.0.0/24",
		// 1.37 refuses to advertise 127.0.0.1 through the lease reconciler.
		"--endpoint-reconciler-type=none",
		// Compose's privileged: true converts to a privileged container.
		"--allow-privileged=true",
		// The fake Node has only an InternalIP; logs are fetched from it.
		"--kubelet-preferred-address-types=InternalIP",
		"--profiling=false",
	}
	proc, err := c.run(ctx, "kube-apiserver", filepath.Join(binDir, "kube-apiserver"), args)
	if err != nil {
		return err
	}
	if err := c.waitAPIServer(ctx, proc, adminToken); err != nil {
		return err
	}
	c.Config = c.restConfig(adminToken)
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.dir, "admin.kubeconfig")
	if err := c.writeKubeconfig(c.Kubeconfig, "admin", adminToken, ""); err != nil {
		return err
	}
	return c.writeKubeconfig(filepath.Join(c.dir, "controller-manager.kubeconfig"), "kcm", managerToken, "")
}

func (c *Cluster) waitAPIServer(ctx context.Context, proc *process, token string) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caCert)
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}},
		Timeout:   2 * time.Second,
	}
	err := poll(ctx, 90*time.Second, func() (bool, error) {
		if err := proc.exitedErr(); err != nil {
			return false, err
		}
		body, err := get(client, c.Host+"/readyz", token)
		return err == nil && body == "ok", err
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready on %s: %w\n%s", c.Host, err, proc.logTail())
	}
	return nil
}

// startControllerManager runs every controller but the node lifecycle controller: the
// fake Node sends no heartbeats, and that controller would mark it unreachable, taint it
// and mark its pods not Ready. It is running once the default namespace has its
// ServiceAccount.
func (c *Cluster) startControllerManager(ctx context.Context, binDir string, p *pki) error {
	args := []string{
		"--kubeconfig=" + filepath.Join(c.dir, "controller-manager.kubeconfig"),
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--service-account-private-key-file=" + p.saKeyFile,
		"--root-ca-file=" + p.caFile,
		"--controllers=*,-node-lifecycle-controller",
		"--profiling=false",
	}
	proc, err := c.run(ctx, "kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"), args)
	if err != nil {
		return err
	}
	err = poll(ctx, 90*time.Second, func() (bool, error) {
		if err := proc.exitedErr(); err != nil {
			return false, err
		}
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, ignoreNotFound(err)
	})
	if err != nil {
		return fmt.Errorf("kube-controller-manager did not create the default ServiceAccount: %w\n%s", err, proc.logTail())
	}
	return nil
}

// run starts one component, its log beside its data; stop registers it for c.stop.
func (c *Cluster) run(ctx context.Context, name, bin string, args []string) (*process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := startProcess(name, bin, args, filepath.Join(c.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// restConfig is a client configuration for token on this cluster. The limits are
// raised: client-side throttling only slows tests down.
func (c *Cluster) restConfig(token string) *rest.Config {
	return &rest.Config{
		Host:            c.Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.caCert},
		QPS:             100,
		Burst:           200,
	}
}

// writeKubeconfig writes a kubeconfig with one context, named like the user, whose
// default namespace is namespace (none when empty).
func (c *Cluster) writeKubeconfig(path, user, token, namespace string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["berth-test"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.caCert}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: "berth-test", AuthInfo: user, Namespace: namespace}
	cfg.CurrentContext = user
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// freePorts returns n distinct free ports on 127.0.0.1, all held open at once while
// they are picked so that none is returned twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// get returns the body of a 200 answer to GET url.
func get(client *http.Client, url, token string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
