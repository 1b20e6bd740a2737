package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/hashicorp/yamux"
)

// runYamux speaks yamux directly over one TCP connection.
func runYamux(args []string) {
	fs := flag.NewFlagSet("yamux", flag.ExitOnError)
	role := fs.String("role", "server", "server or client")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (server) or dial (client)")
	reportResets := fs.Bool("report-resets", false,
		"print \"RESET <stream id> <length>\" for every frame received with the RST flag")
	linger0 := fs.Bool("linger0", false,
		"set SO_LINGER 0 on the connection, so that it ends with a TCP RST, not FIN, when the process is killed")
	acceptBacklog := fs.Int("accept-backlog", 0, "hashicorp/yamux's AcceptBacklog (0: its default, 256)")
	noAccept := fs.Bool("no-accept", false,
		"call AcceptStream only after the ACCEPT command: until then the other side's streams wait in the backlog")
	keepAlive := fs.Duration("keepalive", 0, "hashicorp/yamux's KeepAliveInterval (0: its default, 30 s)")
	writeTimeout := fs.Duration("write-timeout", 0,
		"hashicorp/yamux's ConnectionWriteTimeout, which also bounds its wait for a ping's answer (0: its default)")
	addWriteChunkFlag(fs)
	fs.Parse(args)

	var conn net.Conn
	var err error
	if *role == "server" {
		ln, lerr := net.Listen("tcp", *addr)
		if lerr != nil {
			fmt.Fprintln(os.Stderr, lerr)
			os.Exit(1)
		}
		emit("LISTENING %s", ln.Addr())
		conn, err = ln.Accept()
		ln.Close()
	} else {
		conn, err = net.Dial("tcp", *addr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *linger0 {
		if err := conn.(*net.TCPConn).SetLinger(0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if *reportResets {
		conn = &resetReporter{Conn: conn}
	}
	injector = newResetInjector(conn)
	conn = injector
	holdable = &heldConn{Conn: conn}
	conn = holdable
	cfg := yamuxConfig()
	if *acceptBacklog > 0 {
		cfg.AcceptBacklog = *acceptBacklog
	}
	if *keepAlive > 0 {
		cfg.EnableKeepAlive = true
		cfg.KeepAliveInterval = *keepAlive
	}
	if *writeTimeout > 0 {
		cfg.ConnectionWriteTimeout = *writeTimeout
	}
	var session *yamux.Session
	if *role == "server" {
		session, err = yamux.Server(conn, cfg)
	} else {
		session, err = yamux.Client(conn, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	emit("READY")
	acceptLoop := func() {
		for {
			stream, err := session.AcceptStream()
			if err != nil {
				logf("accept ended: %v", err)
				emit("SESSION_CLOSED")
				return
			}
			go serve(session, stream)
		}
	}
	if *noAccept {
		startAccepting = func() { go acceptLoop() }
	} else {
		go acceptLoop()
	}
	readCommands(func() *yamux.Session { return session }, func() { session.Close() })
}

// startAccepting is the ACCEPT command: set in yamux mode with -no-accept, nil otherwise.
var startAccepting func()

// serve runs the service named by the stream's first byte.
func serve(session *yamux.Session, stream *yamux.Stream) {
	defer stream.Close()
	var service [1]byte
	if _, err := io.ReadFull(stream, service[:]); err != nil {
		logf("stream %d: no service byte: %v", stream.StreamID(), err)
		return
	}
	switch service[0] {
	case 'e':
		if _, err := io.Copy(streamWriter(stream), stream); err != nil {
			logf("stream %d: echo: %v", stream.StreamID(), err)
		}
	case 'd':
		h := sha256.New()
		n, err := io.Copy(h, stream)
		if err != nil {
			logf("stream %d: digest: %v", stream.StreamID(), err)
			return
		}
		fmt.Fprintf(streamWriter(stream), "%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
	case 'h':
		// Holds the stream without reading: the other side's writes stop once they have filled the window.
		<-session.CloseChan()
	default:
		logf("stream %d: unknown service %q", stream.StreamID(), service[0])
	}
}
