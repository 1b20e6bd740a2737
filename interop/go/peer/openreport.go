package main

import (
	"encoding/binary"
	"net"
)

// openingReporter is the tunnel-client's -no-accept flag: it passes the connection's incoming bytes to
// hashicorp/yamux unchanged and prints "SYN <stream id>" for every frame that opens a stream and
// "DATA <stream id> <bytes so far>" for every Data frame, since a stream nobody accepts leaves no other trace:
// hashicorp/yamux keeps it in its accept backlog, reads its data into its window, and acknowledges it only when
// the application accepts it.
type openingReporter struct {
	net.Conn
	frames   frameFollower
	received map[uint32]uint64
}

func newOpeningReporter(conn net.Conn) *openingReporter {
	return &openingReporter{Conn: conn, received: map[uint32]uint64{}}
}

func (r *openingReporter) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.frames.follow(p[:n], func(header []byte) {
		id := binary.BigEndian.Uint32(header[4:8])
		// Ping|SYN (stream 0) opens no stream.
		if header[1] <= typeWindowUpdate && binary.BigEndian.Uint16(header[2:4])&flagSYN != 0 {
			emit("SYN %d", id)
		}
		if header[1] == typeData {
			r.received[id] += uint64(binary.BigEndian.Uint32(header[8:12]))
			emit("DATA %d %d", id, r.received[id])
		}
	})
	return n, err
}
