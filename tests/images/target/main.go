// Command target is the distroless workload of the test cluster: one static binary in a
// FROM-scratch image, running as UID 65532 with a read-only root filesystem.
//
// It serves "ok" on the pod port (0.0.0.0:8080) and, on a localhost-only port (127.0.0.1:9090),
// a fixed secret body and its config file on /config, so that a debug container sharing the
// pod's network namespace can prove it reaches what the outside cannot.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const (
	defaultConfig = "/etc/target/config.yaml"
	publicAddr    = "0.0.0.0:8080"
	localAddr     = "127.0.0.1:9090"
	localBody     = "secret-localhost-ok\n"
	publicBody    = "ok\n"
)

func main() {
	log.SetFlags(0)
	configPath := os.Getenv("TARGET_CONFIG")
	if configPath == "" {
		configPath = defaultConfig
	}
	config, err := os.ReadFile(configPath)
	if err != nil {
		log.Fatalf("target: read config: %v", err)
	}

	public := http.NewServeMux()
	public.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, publicBody)
	})
	local := http.NewServeMux()
	local.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, localBody)
	})
	local.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(config)
	})

	servers := []*http.Server{
		{Addr: publicAddr, Handler: public, ReadHeaderTimeout: 10 * time.Second},
		{Addr: localAddr, Handler: local, ReadHeaderTimeout: 10 * time.Second},
	}
	listeners := make([]net.Listener, len(servers))
	for i, s := range servers {
		l, err := net.Listen("tcp", s.Addr)
		if err != nil {
			log.Fatalf("target: listen: %v", err)
		}
		listeners[i] = l
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	errc := make(chan error, len(servers))
	for i, s := range servers {
		go func(s *http.Server, l net.Listener) {
			if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}(s, listeners[i])
	}
	fmt.Printf("target: mode=%s greeting=%s uid=%d config=%s (%d bytes) listening on %s and %s\n",
		os.Getenv("TARGET_MODE"), os.Getenv("TARGET_GREETING"), os.Getuid(),
		configPath, len(config), publicAddr, localAddr)

	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Fatalf("target: serve: %v", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		s.Shutdown(shutdown)
	}
	fmt.Println("target: shutting down")
}
