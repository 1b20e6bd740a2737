package main

import (
	"net"
	"sync"
)

// holdable is the connection of the tunnel-client and yamux modes, for HOLD and RELEASE (nil in tunnel-server mode).
var holdable *heldConn

// heldConn is a connection whose writes HOLD keeps back and RELEASE sends: hashicorp/yamux still reads all that
// comes, and answers it into the held writes, so a side waiting for an answer (its keepalive ping) gets none.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	held [][]byte // writes kept back while not nil
}

// hold keeps the writes back from now on: yamux sees them written, the other side gets none until release.
func (c *heldConn) hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = [][]byte{}
	}
}

// release sends the writes kept back, in order, and lets the next ones through.
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
