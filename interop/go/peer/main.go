// Command peer is a hashicorp/yamux peer for PicoTunnel's interop tests. It is driven by line commands on
// stdin and answers with line events on stdout (logs go to stderr); it exits when stdin closes.
//
// Modes:
//
//	peer yamux -role server|client -addr host:port [-write-chunk n] [-report-resets] [-linger0]
//	           [-accept-backlog n] [-no-accept] [-keepalive d] [-write-timeout d]
//	    yamux directly over one TCP connection. The server role listens (port 0 allowed) and prints
//	    "LISTENING host:port", then takes one connection. Streams the other side opens are served by
//	    their first byte: 'e' echoes until EOF then closes; 'd' reads to EOF then answers
//	    "<count> <sha256>\n" and closes; 'h' reads nothing and holds the stream until the session ends (the
//	    other side's writes stop once the window is full). With -report-resets it prints "RESET <stream id> <length>" for
//	    every frame it receives with the RST flag (the length carries PicoTunnel's reset reason). With -linger0
//	    the connection has SO_LINGER 0: killed, the process leaves a TCP RST instead of a FIN. -accept-backlog
//	    sets hashicorp's AcceptBacklog; with -no-accept AcceptStream waits for the ACCEPT command, so the other
//	    side's streams fill the backlog and hashicorp resets those beyond it. -keepalive d sets hashicorp's
//	    keepalive interval; -write-timeout d is its ConnectionWriteTimeout (also its wait for a ping's answer).
//	peer tunnel-server -listen host:port -token T [-tls] [-keep-old] [-write-chunk n]
//	    Acts like the PicoTunnel server: GET /tunnel WebSocket (subprotocol "tunnel", 401 for a wrong
//	    token), yamux server role. Prints "CONNECTED" per client connection, "DISCONNECTED" at its end.
//	    With -tls it serves wss with a fresh self-signed certificate and prints "SNI <name>" per handshake.
//	    A client's new connection ends its previous session (GoAway, then close) unless -keep-old, which leaves
//	    it open so that its streams finish there; commands act on the newest session.
//	peer tunnel-client -url ws://host:port/tunnel -token T [-no-accept] [-write-chunk n]
//	    Acts like the PicoTunnel client: yamux client role, reads each stream's header, dials the
//	    target and copies both ways with half-close. Prints "CONNECTED" or "REJECTED <status>" (exit 3).
//	    With -no-accept it never calls AcceptStream, so hashicorp/yamux acknowledges no stream (it sends the
//	    ACK at AcceptStream) and keeps each in its accept backlog, reading its data into its window; the
//	    peer prints "SYN <stream id>" for each SYN and "DATA <stream id> <bytes so far>" for each Data frame.
//
// With -write-chunk n (every mode) each Write on a yamux stream carries at most n bytes. hashicorp/yamux
// sends one Data frame per Write (as much of it as the window allows), so the other side gets Data frames
// of at most n bytes: -write-chunk 16 turns 1 MiB into 65536 frames.
//
// Commands (every mode, but where a command says otherwise):
//
//	OPEN <id> <nbytes> [target|-] [echo|recvfirst|send|finfirst]
//	                             open a stream (with a stream header when a target is given) and exchange
//	                             nbytes random bytes (see openAndExchange); then print
//	                             "RESULT <id> sent=<n> sha_sent=<hex> recv=<n> sha_recv=<hex> end=<eof|short|reset|error:...>"
//	SENT <id>                    "SENT <id> <n>": the bytes a "send" exchange's Writes have completed so far (a
//	                             Write returns once hashicorp/yamux has the data in a frame; -1: no such exchange)
//	RESET <id>                   (yamux mode) send WindowUpdate|RST for the stream of OPEN <id>, which
//	                             hashicorp/yamux cannot: the frame goes between two of its frames; the
//	                             stream's writer stops at its next wait for window; print "RESET_SENT <id>"
//	                             (or "ERROR RESET ..." when the stream was not open, or the RST not written,
//	                             within 10 s each; the other commands go on meanwhile)
//	CLOSERACE <n>                open n streams in turn and close each while a goroutine still writes to it,
//	                             which now and then puts a Data frame after the FIN (see closeRace); print
//	                             "CLOSERACE_DONE <n>", or "CLOSERACE_FAILED <i> <error>" when a stream could not open
//	PING                         "PONG <ms>" or "PING_FAILED <error>"
//	GOAWAY                       send GoAway, print "GOAWAY_SENT"
//	STREAMS                      "STREAMS <n>"
//	HOLD                         (tunnel-client and yamux modes) keep the connection's writes back, yamux seeing them
//	                             written, so that a frame sent now (GOAWAY, the answer to a ping) reaches the other
//	                             side only at RELEASE; "HELD"
//	RELEASE                      send the writes kept back, in order, and let the next ones through; "RELEASED"
//	ACCEPT                       (yamux mode with -no-accept) start taking streams with AcceptStream; "ACCEPTING"
//	DISCONNECT                   close the session (tunnel-server: the current client connection)
//	QUIT                         exit
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

var out = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

// emit prints one event line on stdout.
func emit(format string, args ...interface{}) {
	out.Lock()
	defer out.Unlock()
	fmt.Fprintf(out.w, format+"\n", args...)
	out.w.Flush()
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000")+" peer: "+format+"\n", args...)
}

// writeChunk is the -write-chunk flag: the largest Write on a stream, 0 for no limit.
var writeChunk int

// addWriteChunkFlag declares -write-chunk on a mode's flags.
func addWriteChunkFlag(fs *flag.FlagSet) {
	fs.IntVar(&writeChunk, "write-chunk", 0,
		"write at most this many bytes per stream Write, so every Data frame carries at most that many (0: no limit)")
}

// streamWriter is how the peer writes to a stream: in Writes of at most -write-chunk bytes.
func streamWriter(stream io.Writer) io.Writer {
	if writeChunk <= 0 {
		return stream
	}
	return chunkedWriter{w: stream, max: writeChunk}
}

// chunkedWriter passes each Write on as Writes of at most max bytes.
type chunkedWriter struct {
	w   io.Writer
	max int
}

func (c chunkedWriter) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		end := written + c.max
		if end > len(p) {
			end = len(p)
		}
		n, err := c.w.Write(p[written:end])
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func yamuxConfig() *yamux.Config {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = os.Stderr
	return cfg
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: peer yamux|tunnel-server|tunnel-client [flags]")
		os.Exit(2)
	}
	mode, args := os.Args[1], os.Args[2:]
	switch mode {
	case "yamux":
		runYamux(args)
	case "tunnel-server":
		runTunnelServer(args)
	case "tunnel-client":
		runTunnelClient(args)
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(2)
	}
}

// sessionSource gives the session commands act on (it may change over time in tunnel-server mode).
type sessionSource func() *yamux.Session

// readCommands runs stdin commands until QUIT or EOF, then exits the process.
func readCommands(current sessionSource, disconnect func()) {
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "OPEN":
			if len(fields) < 3 {
				emit("ERROR OPEN needs <id> <nbytes> [target]")
				continue
			}
			var n int64
			fmt.Sscan(fields[2], &n)
			target, mode := "", "echo"
			if len(fields) > 3 && fields[3] != "-" {
				target = fields[3]
			}
			if len(fields) > 4 {
				mode = fields[4]
			}
			go openAndExchange(current(), registerExchange(fields[1]), fields[1], n, target, mode)
		case "SENT":
			if len(fields) < 2 {
				emit("ERROR SENT needs <id>")
				continue
			}
			reportSent(fields[1])
		case "RESET":
			if len(fields) < 2 {
				emit("ERROR RESET needs <id>")
				continue
			}
			// Off the command loop: the RST may wait for the frame hashicorp is writing to a full socket.
			go resetExchange(fields[1])
		case "CLOSERACE":
			if len(fields) < 2 {
				emit("ERROR CLOSERACE needs <n>")
				continue
			}
			var n int
			fmt.Sscan(fields[1], &n)
			go closeRace(current(), n)
		case "PING":
			go func() {
				s := current()
				if s == nil {
					emit("PING_FAILED no session")
					return
				}
				rtt, err := s.Ping()
				if err != nil {
					emit("PING_FAILED %v", err)
					return
				}
				emit("PONG %d", rtt.Milliseconds())
			}()
		case "GOAWAY":
			if s := current(); s != nil {
				s.GoAway()
			}
			emit("GOAWAY_SENT")
		case "STREAMS":
			n := 0
			if s := current(); s != nil {
				n = s.NumStreams()
			}
			emit("STREAMS %d", n)
		case "HOLD":
			if holdable == nil {
				emit("ERROR HOLD needs tunnel-client or yamux mode")
				continue
			}
			holdable.hold()
			emit("HELD")
		case "RELEASE":
			if holdable == nil {
				emit("ERROR RELEASE needs tunnel-client or yamux mode")
				continue
			}
			if err := holdable.release(); err != nil {
				emit("RELEASE_FAILED %s", oneWord(err))
				continue
			}
			emit("RELEASED")
		case "ACCEPT":
			if startAccepting == nil {
				emit("ERROR ACCEPT needs yamux mode with -no-accept")
				continue
			}
			startAccepting()
			startAccepting = nil
			emit("ACCEPTING")
		case "DISCONNECT":
			disconnect()
		case "QUIT":
			os.Exit(0)
		default:
			emit("ERROR unknown command %s", fields[0])
		}
	}
	os.Exit(0)
}

// copyHalfClose copies src to dst and then closes dst's write side.
func copyHalfClose(dst io.Writer, src io.Reader, closeWrite func() error) error {
	_, err := io.Copy(dst, src)
	cerr := closeWrite()
	if err != nil {
		return err
	}
	return cerr
}
