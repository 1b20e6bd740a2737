package main

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// resetWait bounds each wait of the RESET command: for the stream of an OPEN still being opened, then for its RST
// to be written (the frame hashicorp/yamux is writing must end first, which a full socket can hold up).
const resetWait = 10 * time.Second

// resetInjector is the connection as hashicorp/yamux writes to it in yamux mode, able to slip a WindowUpdate|RST
// frame of ours in between two of its frames: hashicorp/yamux of Debian's snapshot (2019) has no stream reset in
// its API, and it writes a frame's header and payload in separate Writes, so the injector follows the frames it
// passes on and writes an RST only where one frame ends. An RST waits in a queue, never for a Write of
// hashicorp's: the Write that ends the current frame writes it, or the RESET itself once no Write is going on.
type resetInjector struct {
	net.Conn
	writing chan struct{} // holds a token while someone writes to Conn: hashicorp's Write or an RST
	frames  frameFollower // of the bytes written so far (with the token)
	mu      sync.Mutex    // guards pending
	pending []*queuedReset
}

// queuedReset is one RST frame waiting for the end of the current frame; done gets the result of its write.
type queuedReset struct {
	frame [headerSize]byte
	done  chan error
}

var errResetNotWritten = errors.New("RST not written within the wait: the frame being written did not end")

func newResetInjector(conn net.Conn) *resetInjector {
	return &resetInjector{Conn: conn, writing: make(chan struct{}, 1)}
}

// injector is the yamux mode's connection (nil in the other modes).
var injector *resetInjector

func (w *resetInjector) Write(p []byte) (int, error) {
	w.writing <- struct{}{}
	defer func() { <-w.writing }()
	written := 0
	for {
		if err := w.flushPending(); err != nil {
			return written, err
		}
		if written == len(p) {
			return written, nil
		}
		n := len(p) - written
		if w.hasPending() {
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

func (w *resetInjector) hasPending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) > 0
}

// flushPending writes the waiting RST frames if the last frame passed on is complete (with the token).
func (w *resetInjector) flushPending() error {
	if !w.frames.betweenFrames() {
		return nil
	}
	w.mu.Lock()
	queued := w.pending
	w.pending = nil
	w.mu.Unlock()
	if len(queued) == 0 {
		return nil
	}
	frames := make([]byte, 0, len(queued)*headerSize)
	for _, q := range queued {
		frames = append(frames, q.frame[:]...)
	}
	_, err := w.Conn.Write(frames)
	for _, q := range queued {
		q.done <- err
	}
	return err
}

// reset writes a WindowUpdate|RST for stream id at the end of the frame being written, or now between frames,
// waiting at most wait: errResetNotWritten if the RST was still queued then (it is taken back) or being written.
func (w *resetInjector) reset(id uint32, wait time.Duration) error {
	q := &queuedReset{done: make(chan error, 1)}
	q.frame[1] = typeWindowUpdate
	binary.BigEndian.PutUint16(q.frame[2:4], flagRST)
	binary.BigEndian.PutUint32(q.frame[4:8], id)
	w.mu.Lock()
	w.pending = append(w.pending, q)
	w.mu.Unlock()

	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	select {
	case w.writing <- struct{}{}: // no Write going on: write it now, if between frames
		err := w.flushPending()
		<-w.writing
		if err != nil {
			return err
		}
	case err := <-q.done: // a Write ended its frame and wrote it
		return err
	case <-deadline.C:
		w.withdraw(q)
		return errResetNotWritten
	}
	select {
	case err := <-q.done:
		return err
	case <-deadline.C: // between a header and its payload, and hashicorp wrote no more
		w.withdraw(q)
		return errResetNotWritten
	}
}

// withdraw takes q out of the queue if it is still there.
func (w *resetInjector) withdraw(q *queuedReset) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, p := range w.pending {
		if p == q {
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			return
		}
	}
}

// exchanges are the streams of the OPEN commands, by id: registered by the command loop when it reads the OPEN,
// ready once the stream is open (or its opening failed), so a RESET right after its OPEN finds it.
var exchanges sync.Map

// openingExchange is one OPEN's stream: stream is set (nil if the opening failed) before ready closes.
type openingExchange struct {
	ready  chan struct{}
	stream *yamux.Stream
}

// registerExchange is called by the command loop for OPEN <id>, before the stream is opened.
func registerExchange(id string) *openingExchange {
	e := &openingExchange{ready: make(chan struct{})}
	exchanges.Store(id, e)
	return e
}

// opened says the stream is open (stream) or that its opening failed (nil).
func (e *openingExchange) opened(stream *yamux.Stream) {
	e.stream = stream
	close(e.ready)
}

// resetExchange is the RESET command, run off the command loop: an RST for the stream of OPEN <id> (waiting at
// most resetWait for it to be open), then its writer is told to stop (it does at its next wait for window, which
// the other side no longer gives: its RESULT says end=error:timeout). Prints "RESET_SENT <id>" once the RST is
// written, at the end of the frame being sent at most resetWait later, else "ERROR RESET <id>: <reason>".
func resetExchange(id string) {
	value, ok := exchanges.Load(id)
	if !ok || injector == nil {
		emit("ERROR RESET: no stream %s in yamux mode", id)
		return
	}
	e := value.(*openingExchange)
	select {
	case <-e.ready:
	case <-time.After(resetWait):
		emit("ERROR RESET %s: stream not open within %s", id, resetWait)
		return
	}
	if e.stream == nil {
		emit("ERROR RESET: no stream %s: its OPEN failed", id)
		return
	}
	if err := injector.reset(e.stream.StreamID(), resetWait); err != nil {
		emit("ERROR RESET %s: %s", id, oneWord(err))
		return
	}
	e.stream.SetWriteDeadline(time.Now())
	emit("RESET_SENT %s", id)
}
