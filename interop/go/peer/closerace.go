package main

import (
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// closeRace opens n streams one after another and, on each, closes the stream while another goroutine is still
// writing to it, as a program does that tears a stream down on an error. hashicorp/yamux's Write checks the
// stream's state before it queues its frame, so a Write that passed the check just before the Close puts a Data
// frame on the wire after the FIN (a few in a thousand streams). It prints CLOSERACE_DONE <n>, or
// CLOSERACE_FAILED <i> <error> when the session could not open the i-th stream (the peer ended the session).
func closeRace(session *yamux.Session, n int) {
	chunk := make([]byte, 512)
	for i := 0; i < n; i++ {
		if session == nil {
			emit("CLOSERACE_FAILED %d no session", i)
			return
		}
		stream, err := session.OpenStream()
		if err != nil {
			emit("CLOSERACE_FAILED %d %s", i, oneWord(err))
			return
		}
		var writer sync.WaitGroup
		writer.Add(1)
		go func() {
			defer writer.Done()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := stream.Write(chunk); err != nil {
					return
				}
			}
		}()
		time.Sleep(time.Duration(i%50) * time.Microsecond)
		stream.Close()
		writer.Wait()
	}
	emit("CLOSERACE_DONE %d", n)
}
