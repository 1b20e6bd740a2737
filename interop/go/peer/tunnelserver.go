package main

import (
	"crypto/subtle"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// runTunnelServer acts like the PicoTunnel server's tunnel endpoint.
func runTunnelServer(args []string) {
	fs := flag.NewFlagSet("tunnel-server", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	token := fs.String("token", "", "the token clients must present")
	useTLS := fs.Bool("tls", false, "serve wss with a fresh self-signed certificate for localhost")
	keepOld := fs.Bool("keep-old", false,
		"leave a client's previous session open when it connects anew, so that its streams finish there")
	addWriteChunkFlag(fs)
	fs.Parse(args)

	var mu sync.Mutex
	var current *yamux.Session
	upgrader := websocket.Upgrader{Subprotocols: []string{"tunnel"}}

	mux := http.NewServeMux()
	mux.HandleFunc("/tunnel", func(w http.ResponseWriter, r *http.Request) {
		presented := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if presented == "" {
			presented = r.URL.Query().Get("token")
		}
		if subtle.ConstantTimeCompare([]byte(presented), []byte(*token)) != 1 {
			emit("UNAUTHORIZED")
			// As the PicoTunnel server answers: the client stops for good only on its JSON error "unauthorized".
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="picotunnel"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"unauthorized","message":"missing or invalid tunnel token"}`)
			return
		}
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			logf("upgrade: %v", err)
			return
		}
		if ws.Subprotocol() != "tunnel" {
			logf("client did not ask for subprotocol tunnel")
		}
		session, err := yamux.Server(&wsConn{ws: ws}, yamuxConfig())
		if err != nil {
			logf("yamux: %v", err)
			ws.Close()
			return
		}
		mu.Lock()
		if current != nil && !*keepOld {
			current.GoAway()
			current.Close()
		}
		current = session
		mu.Unlock()
		emit("CONNECTED")
		go func() {
			// The client opens no streams; Accept returns when the session ends.
			for {
				if _, err := session.AcceptStream(); err != nil {
					break
				}
			}
			mu.Lock()
			if current == session {
				current = nil
			}
			mu.Unlock()
			emit("DISCONNECTED")
		}()
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *useTLS {
		cfg, err := selfSignedTLS()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ln = tls.NewListener(ln, cfg)
	}
	emit("LISTENING %s", ln.Addr())
	go http.Serve(ln, mux)
	readCommands(
		func() *yamux.Session { mu.Lock(); defer mu.Unlock(); return current },
		func() {
			mu.Lock()
			s := current
			mu.Unlock()
			if s != nil {
				s.Close()
			}
		})
}
