package main

import (
	"bufio"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hashicorp/yamux"
)

// runTunnelClient acts like the PicoTunnel client: it serves the streams the server opens.
func runTunnelClient(args []string) {
	fs := flag.NewFlagSet("tunnel-client", flag.ExitOnError)
	url := fs.String("url", "", "ws://host:port/tunnel")
	token := fs.String("token", "", "the tunnel token")
	noAccept := fs.Bool("no-accept", false,
		"never accept a stream, so that none is acknowledged; print \"SYN <id>\" and \"DATA <id> <bytes so far>\" as they come")
	addWriteChunkFlag(fs)
	fs.Parse(args)

	dialer := websocket.Dialer{Subprotocols: []string{"tunnel"}, HandshakeTimeout: 10 * time.Second}
	header := http.Header{}
	header.Set("Authorization", "Bearer "+*token)
	ws, resp, err := dialer.Dial(*url, header)
	if err != nil {
		if resp != nil {
			emit("REJECTED %d", resp.StatusCode)
			os.Exit(3)
		}
		emit("FAILED %s", oneWord(err))
		os.Exit(1)
	}
	holdable = &heldConn{Conn: &wsConn{ws: ws}}
	var conn net.Conn = holdable
	if *noAccept {
		conn = newOpeningReporter(conn)
	}
	session, err := yamux.Client(conn, yamuxConfig())
	if err != nil {
		emit("FAILED %s", oneWord(err))
		os.Exit(1)
	}
	emit("CONNECTED")
	if *noAccept {
		go func() {
			<-session.CloseChan()
			emit("DISCONNECTED")
		}()
	} else {
		go func() {
			for {
				stream, err := session.AcceptStream()
				if err != nil {
					emit("DISCONNECTED")
					return
				}
				go forward(stream)
			}
		}()
	}
	readCommands(func() *yamux.Session { return session }, func() { session.Close() })
}

// forward reads the stream header, dials the target and copies both ways with half-close.
func forward(stream *yamux.Stream) {
	reader := bufio.NewReader(stream)
	h, err := readHeader(reader)
	if err != nil {
		logf("stream %d: bad header: %v", stream.StreamID(), err)
		stream.Close()
		return
	}
	target, err := net.DialTimeout("tcp", h.Target, 10*time.Second)
	if err != nil {
		emit("STREAM %s unreachable", h.Target)
		// hashicorp/yamux has no reset: end our side and drain, so the opener is not left blocked on its window.
		stream.Close()
		io.Copy(io.Discard, reader)
		return
	}
	emit("STREAM %s ok", h.Target)
	tcp := target.(*net.TCPConn)
	done := make(chan error, 2)
	go func() { done <- copyHalfClose(tcp, reader, tcp.CloseWrite) }()
	go func() { done <- copyHalfClose(streamWriter(stream), tcp, stream.Close) }()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			logf("stream %d: %v", stream.StreamID(), err)
		}
	}
	tcp.Close()
	stream.Close()
}
