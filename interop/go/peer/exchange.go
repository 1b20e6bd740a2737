package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// sendWriteTimeout bounds how long a "send" exchange waits for window (hashicorp/yamux waits forever).
const sendWriteTimeout = 60 * time.Second

// openAndExchange opens a stream, optionally writes a stream header, and exchanges n random bytes:
//
//	echo      send n bytes while reading n bytes back, then close (FIN) and wait for the peer's end
//	recvfirst read until the peer's FIN, then send n bytes and close (FIN)
//	send      send n bytes and close (FIN), reading nothing; the result says whether every Write
//	          completed (end=eof) or failed (reset, or error:timeout when the window stayed shut 60 s)
//	finfirst  send n bytes and close (FIN), then read n bytes from the other side (see readAfterOwnFin)
//
// Debian's hashicorp/yamux (2019) returns EOF from Read once its own side is closed and its buffer is
// momentarily empty, so this peer never reads data it still needs after sending its own FIN.
func openAndExchange(session *yamux.Session, exchange *openingExchange, id string, n int64, target, mode string) {
	fail := func(err error) {
		exchange.opened(nil)
		emit("RESULT %s sent=0 sha_sent=- recv=0 sha_recv=- end=error:%s", id, oneWord(err))
	}
	if session == nil {
		fail(fmt.Errorf("no session"))
		return
	}
	stream, err := session.OpenStream()
	if err != nil {
		fail(err)
		return
	}
	defer stream.Close()
	// OpenStream returns once hashicorp wrote the SYN: an RST from now on follows it on the wire.
	exchange.opened(stream)
	if target != "" {
		if _, err := stream.Write(encodeHeader("tcp", target)); err != nil {
			emit("RESULT %s sent=0 sha_sent=- recv=0 sha_recv=- end=error:%s", id, oneWord(err))
			return
		}
	}
	w := streamWriter(stream)
	switch mode {
	case "send":
		// A writer blocked on a window the reader never reopens fails instead of hanging the result.
		stream.SetWriteDeadline(time.Now().Add(sendWriteTimeout))
		sentHash := sha256.New()
		progress := &sentCounter{}
		sendProgress.Store(id, progress)
		sent, err := io.Copy(io.MultiWriter(w, sentHash, progress), io.LimitReader(rand.Reader, n))
		end := "eof"
		if err != nil {
			end = endOf(err, false)
		} else if err := stream.Close(); err != nil {
			end = endOf(err, false)
		}
		emit("RESULT %s sent=%d sha_sent=%s recv=0 sha_recv=%s end=%s", id, sent,
			hex.EncodeToString(sentHash.Sum(nil)), hex.EncodeToString(sha256.New().Sum(nil)), end)
	case "finfirst":
		sentHash := sha256.New()
		_, err := io.Copy(io.MultiWriter(w, sentHash), io.LimitReader(rand.Reader, n))
		end := "eof"
		if err != nil {
			end = endOf(err, false)
		} else if err := stream.Close(); err != nil {
			end = endOf(err, false)
		}
		recvHash := sha256.New()
		var got int64
		if end == "eof" {
			got, end = readAfterOwnFin(stream, recvHash, n)
		}
		emit("RESULT %s sent=%d sha_sent=%s recv=%d sha_recv=%s end=%s", id, n,
			hex.EncodeToString(sentHash.Sum(nil)), got, hex.EncodeToString(recvHash.Sum(nil)), end)
	case "recvfirst":
		recvHash := sha256.New()
		got, err := io.Copy(recvHash, stream)
		end := endOf(err, true)
		sentHash := sha256.New()
		if end == "eof" {
			_, werr := io.Copy(io.MultiWriter(w, sentHash), io.LimitReader(rand.Reader, n))
			if werr != nil {
				end = endOf(werr, false)
			}
		}
		stream.Close()
		emit("RESULT %s sent=%d sha_sent=%s recv=%d sha_recv=%s end=%s", id, n,
			hex.EncodeToString(sentHash.Sum(nil)), got, hex.EncodeToString(recvHash.Sum(nil)), end)
	default:
		sent := make(chan string, 1)
		go func() {
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rand.Reader, n)); err != nil {
				logf("stream %s: write: %v", id, err)
			}
			sent <- hex.EncodeToString(h.Sum(nil))
		}()
		recvHash := sha256.New()
		got, err := io.Copy(recvHash, io.LimitReader(stream, n))
		end := endOf(err, true)
		if end == "eof" && got < n {
			end = "short"
		}
		shaSent := <-sent
		if end == "eof" {
			stream.Close()
			// What follows our FIN is only the peer's FIN; reading it may end early (see above).
			io.Copy(io.Discard, stream)
		}
		emit("RESULT %s sent=%d sha_sent=%s recv=%d sha_recv=%s end=%s", id, n, shaSent, got,
			hex.EncodeToString(recvHash.Sum(nil)), end)
	}
}

// sendProgress holds a *sentCounter per "send" exchange id, for the SENT command.
var sendProgress sync.Map

// sentCounter counts the bytes a "send" exchange's Writes have completed.
type sentCounter struct{ n atomic.Int64 }

func (c *sentCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// reportSent is the SENT command: "SENT <id> <bytes written so far>", -1 when no "send" exchange has that id.
func reportSent(id string) {
	var n int64 = -1
	if value, ok := sendProgress.Load(id); ok {
		n = value.(*sentCounter).n.Load()
	}
	emit("SENT %s %d", id, n)
}

// readAfterOwnFin reads n bytes from a stream this side has closed. Debian's hashicorp/yamux returns EOF from Read
// whenever its own side is closed and its buffer is empty, even while the other side still sends: such an EOF is
// read again after a millisecond, for at most 30 s. The end is eof with all n bytes, short without them.
func readAfterOwnFin(stream *yamux.Stream, h io.Writer, n int64) (int64, string) {
	buf := make([]byte, 32*1024)
	var got int64
	deadline := time.Now().Add(30 * time.Second)
	for got < n && time.Now().Before(deadline) {
		want := int64(len(buf))
		if n-got < want {
			want = n - got
		}
		k, err := stream.Read(buf[:want])
		h.Write(buf[:k])
		got += int64(k)
		if err == io.EOF {
			time.Sleep(time.Millisecond)
		} else if err != nil {
			return got, endOf(err, false)
		}
	}
	if got < n {
		return got, "short"
	}
	return got, "eof"
}

func endOf(err error, eofOK bool) string {
	switch {
	case err == nil:
		return "eof"
	case err == yamux.ErrConnectionReset:
		return "reset"
	case err == yamux.ErrTimeout:
		return "error:timeout"
	case err == io.EOF && eofOK:
		return "eof"
	default:
		return "error:" + oneWord(err)
	}
}

// encodeHeader is the PicoTunnel stream header: 2-byte big-endian length, JSON, '\n'.
func encodeHeader(typ, target string) []byte {
	body, _ := json.Marshal(map[string]string{"type": typ, "target": target})
	buf := make([]byte, 2, 2+len(body)+1)
	binary.BigEndian.PutUint16(buf, uint16(len(body)))
	buf = append(buf, body...)
	return append(buf, '\n')
}

type streamHeader struct {
	Type   string `json:"type"`
	Target string `json:"target"`
}

// readHeader reads one stream header, refusing more than 4096 bytes of JSON.
func readHeader(r io.Reader) (streamHeader, error) {
	var h streamHeader
	var lenBuf [2]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return h, err
	}
	n := binary.BigEndian.Uint16(lenBuf[:])
	if n == 0 || n > 4096 {
		return h, fmt.Errorf("header length %d out of range", n)
	}
	body := make([]byte, int(n)+1)
	if _, err := io.ReadFull(r, body); err != nil {
		return h, err
	}
	if body[n] != '\n' {
		return h, fmt.Errorf("header not followed by newline")
	}
	if err := json.Unmarshal(body[:n], &h); err != nil {
		return h, err
	}
	return h, nil
}

func oneWord(err error) string {
	return strings.ReplaceAll(err.Error(), " ", "_")
}
