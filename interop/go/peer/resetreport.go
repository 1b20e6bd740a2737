package main

import (
	"encoding/binary"
	"net"
)

// resetReporter is the -report-resets flag: it passes the connection's incoming bytes to hashicorp/yamux
// unchanged and prints "RESET <stream id> <length>" for every frame with the RST flag, since hashicorp/yamux
// keeps no trace of an RST's length (PicoTunnel's reset reason, docs/protocol.md).
type resetReporter struct {
	net.Conn
	frames frameFollower
}

func (r *resetReporter) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.scan(p[:n])
	return n, err
}

func (r *resetReporter) scan(b []byte) {
	r.frames.follow(b, func(header []byte) {
		if binary.BigEndian.Uint16(header[2:4])&flagRST != 0 {
			emit("RESET %d %d", binary.BigEndian.Uint32(header[4:8]), binary.BigEndian.Uint32(header[8:12]))
		}
	})
}
