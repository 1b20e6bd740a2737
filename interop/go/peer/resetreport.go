package main

import (
	"encoding/binary"
	"net"
)

// yamux's frame header: version, type, flags, stream id, length (12 bytes); Data (type 0) has length payload bytes.
const (
	headerSize = 12
	typeData   = 0
	flagRST    = 0x8
)

// resetReporter is the -report-resets flag: it passes the connection's incoming bytes to hashicorp/yamux
// unchanged and prints "RESET <stream id> <length>" for every frame with the RST flag, since hashicorp/yamux
// keeps no trace of an RST's length (PicoTunnel's reset reason, docs/protocol.md).
type resetReporter struct {
	net.Conn
	header [headerSize]byte
	have   int    // bytes of the current header read so far
	skip   uint32 // payload bytes of the current Data frame still to come
}

func (r *resetReporter) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.scan(p[:n])
	return n, err
}

func (r *resetReporter) scan(b []byte) {
	for len(b) > 0 {
		if r.skip > 0 {
			k := r.skip
			if uint32(len(b)) < k {
				k = uint32(len(b))
			}
			b = b[k:]
			r.skip -= k
			continue
		}
		k := copy(r.header[r.have:], b)
		r.have += k
		b = b[k:]
		if r.have < headerSize {
			return
		}
		r.have = 0
		flags := binary.BigEndian.Uint16(r.header[2:4])
		id := binary.BigEndian.Uint32(r.header[4:8])
		length := binary.BigEndian.Uint32(r.header[8:12])
		if flags&flagRST != 0 {
			emit("RESET %d %d", id, length)
		}
		if r.header[1] == typeData {
			r.skip = length
		}
	}
}
