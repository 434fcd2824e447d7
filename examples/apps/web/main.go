// web serves the notes page and passes /api/ on to the API at $API_URL. It is the only
// service of the examples published on the host; the API and the store stay on private
// networks behind it.
package main

import (
	"context"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/berth-dev/berth/examples/apps/internal/lifecycle"
	"github.com/berth-dev/berth/examples/apps/internal/page"
)

func main() {
	rawURL := lifecycle.Env("API_URL", "http://api:8080")
	apiURL, err := url.Parse(rawURL)
	if err != nil || apiURL.Host == "" {
		log.Fatalf("web: API_URL %q: want a URL like http://api:8080", rawURL)
	}
	mux := http.NewServeMux()
	// PAGE_DIR: where `berth watch` syncs the page's HTML (examples/devenv)
	mux.Handle("/", page.FromDir("web", lifecycle.Env("PAGE_DIR", "")))
	mux.Handle("/api/", apiProxy(apiURL))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	ctx, stop := lifecycle.Context()
	defer stop()
	log.Printf("web: passing /api/ to %s", apiURL)
	if err := lifecycle.Serve(ctx, lifecycle.Env("ADDR", ":80"), lifecycle.AccessLog(mux, nil)); err != nil {
		log.Fatalf("web: %v", err)
	}
}

// apiProxy spreads requests over every address the API's name resolves to. The DNS
// answer for a scaled service lists all its replicas, always in the same order, and
// pooled connections would stick to one replica: so every request opens a new connection
// to a randomly chosen address. On a private network that costs well under a millisecond.
func apiProxy(target *url.URL) http.Handler {
	dialer := &net.Dialer{Timeout: 3 * time.Second}
	transport := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialRandom(ctx, dialer, network, addr)
		},
		ResponseHeaderTimeout: 10 * time.Second,
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		log.Printf("web: %s %s: api: %v", r.Method, r.URL.Path, err)
		http.Error(w, "the API is not reachable: "+err.Error(), http.StatusBadGateway)
	}
	return proxy
}

func dialRandom(ctx context.Context, dialer *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })
	var lastErr error
	// a replica being replaced refuses connections for a moment: try the others
	for _, ip := range ips {
		conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}
