package main

import (
	"net"
	"sync"
)

// holder is a connection whose writes HOLD keeps back and RELEASE sends.
type holder interface {
	// hold keeps the writes back from now on: yamux sees them written, the other side gets none until release.
	hold()
	// release sends the writes kept back, in order, and lets the next ones through.
	release() error
}

// holdable is the connection of the tunnel-client and yamux modes, for HOLD and RELEASE (nil in tunnel-server mode).
var holdable holder

// heldConn is the yamux mode's connection, whose writes HOLD keeps back: hashicorp/yamux still reads all that
// comes, and answers it into the held writes, so a side waiting for an answer (its keepalive ping) gets none.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	held [][]byte // writes kept back while not nil
}

func (c *heldConn) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = [][]byte{}
	}
}

func (c *heldConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.held
	c.held = nil
	for _, p := range held {
		if _, err := c.Conn.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held != nil {
		c.held = append(c.held, append([]byte(nil), p...))
		return len(p), nil
	}
	return c.Conn.Write(p)
}
