package main

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// tcpProxy forwards TCP connections from a loopback port to a target, and
// can take the target away as an outage would: Cut closes the connections
// and refuses new ones (a server that is down), Stall keeps them open but
// passes no more bytes either way (a server or network that stopped
// answering). Restore ends either.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cut     bool
	stalled chan struct{} // while not nil, bytes wait until it is closed
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// proxyTo starts a tcpProxy to the server of the PostgreSQL URL direct and
// returns it with the URL that reaches the server through it.
func proxyTo(t *testing.T, direct string) (*tcpProxy, string) {
	t.Helper()
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.Addr()
	return proxy, u.String()
}

// newTCPProxy listens on 127.0.0.1:0 and forwards to target until t ends.
func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *tcpProxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection through the proxy and makes it close new ones
// as soon as they are accepted, until Restore.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Stall stops passing bytes on every connection, open or new, without
// closing any, until Restore.
func (p *tcpProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == nil {
		p.stalled = make(chan struct{})
	}
}

// Restore forwards again.
func (p *tcpProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
}

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

// forward pipes c to a new connection to the target, both ways, until
// either side ends or Cut closes them.
func (p *tcpProxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut { // cut while dialing
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, up)
		p.mu.Unlock()
		c.Close()
		up.Close()
	}()
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.waitWhileStalled()
				if _, err := dst.Write(buf[:n]); err != nil {
					break
				}
			}
			if err == io.EOF {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite() // pass the end on; the other way goes on
					return
				}
			}
			if err != nil {
				break
			}
		}
		c.Close() // a reset, or Cut: end both directions
		up.Close()
	}
	wg.Add(2)
	go pipe(up, c)
	go pipe(c, up)
	wg.Wait()
}

// waitWhileStalled returns once the proxy is not stalled.
func (p *tcpProxy) waitWhileStalled() {
	p.mu.Lock()
	st := p.stalled
	p.mu.Unlock()
	if st != nil {
		<-st
	}
}

// close stops the proxy and its connections.
func (p *tcpProxy) close() {
	p.ln.Close()
	p.Restore()
	p.Cut()
	p.wg.Wait()
}
