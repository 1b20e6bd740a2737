package main

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// resetInjector is the connection as hashicorp/yamux writes to it in yamux mode, able to slip a WindowUpdate|RST
// frame of ours in between two of its frames: hashicorp/yamux of Debian's snapshot (2019) has no stream reset in
// its API, and it writes a frame's header and payload in separate Writes, so the injector follows the frames it
// passes on and writes an RST only where one frame ends.
type resetInjector struct {
	net.Conn
	mu      sync.Mutex
	frames  frameFollower // of the bytes written so far
	pending []byte        // RST frames waiting for the end of the current frame
}

// injector is the yamux mode's connection (nil in the other modes).
var injector *resetInjector

// exchanges are the streams opened with OPEN, by id.
var exchanges sync.Map

func (w *resetInjector) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	written := 0
	for {
		if err := w.flushPending(); err != nil {
			return written, err
		}
		if written == len(p) {
			return written, nil
		}
		n := len(p) - written
		if len(w.pending) > 0 {
			n = w.frames.toFrameEnd(n)
		}
		k, err := w.Conn.Write(p[written : written+n])
		w.frames.follow(p[written:written+k], nil)
		written += k
		if err != nil {
			return written, err
		}
	}
}

// flushPending writes the waiting RST frames if the last frame passed on is complete.
func (w *resetInjector) flushPending() error {
	if len(w.pending) == 0 || !w.frames.betweenFrames() {
		return nil
	}
	_, err := w.Conn.Write(w.pending)
	w.pending = nil
	return err
}

// reset writes a WindowUpdate|RST for stream id at the end of the frame being written, or now between frames.
func (w *resetInjector) reset(id uint32) error {
	var frame [headerSize]byte
	frame[1] = typeWindowUpdate
	binary.BigEndian.PutUint16(frame[2:4], flagRST)
	binary.BigEndian.PutUint32(frame[4:8], id)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, frame[:]...)
	return w.flushPending()
}

// resetExchange is the RESET command: an RST for the stream of OPEN <id>, then its writer is told to stop (it
// does at its next wait for window, which the other side no longer gives: its RESULT says end=error:timeout).
// Prints "RESET_SENT <id>" once the RST is written, or written as soon as the frame being sent ends.
func resetExchange(id string) {
	value, ok := exchanges.Load(id)
	if !ok || injector == nil {
		emit("ERROR RESET: no stream %s in yamux mode", id)
		return
	}
	stream := value.(*yamux.Stream)
	if err := injector.reset(stream.StreamID()); err != nil {
		emit("ERROR RESET %s: %s", id, oneWord(err))
		return
	}
	stream.SetWriteDeadline(time.Now())
	emit("RESET_SENT %s", id)
}
