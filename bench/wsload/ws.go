package main

// A minimal RFC 6455 client: only what wsload needs (ws://, one subprotocol, no extensions),
// so that receiving a frame costs little more than parsing its header.

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	wsGUID       = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsReadLimit  = 1 << 20
	statusNormal = 1000
	// what a close frame without a status code stands for (RFC 6455 7.4.1)
	statusNoStatus = 1005
)

// closeError: the peer sent a close frame with this code.
type closeError int

func (e closeError) Error() string { return fmt.Sprintf("websocket closed with %d", int(e)) }

// payloadError: the frame header was fine but its payload could not be read or was too big;
// read() reports these as "read", everything else that is not a closeError as "eof".
type payloadError struct{ err error }

func (e payloadError) Error() string { return e.err.Error() }

var (
	errReadLimit = errors.New("websocket message over the read limit")
	errCloseSent = errors.New("websocket close frame already sent")
)

type wsConn struct {
	c   net.Conn // until the poller takes the socket over
	raw *rawConn // from then on
	br  *bufio.Reader
	// bytes of the last Peek'ed payload, discarded on the next read so that the payload stays
	// valid (bufio only promises that until the next read call)
	pending int
	msg     []byte // messages too big for the bufio buffer, and fragments; reused
	hdr     [8]byte

	wmu       sync.Mutex
	closeSent bool
}

func wsDial(rawURL, protocol string, deadline time.Time) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "ws" {
		return nil, fmt.Errorf("%s: only ws:// URLs", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	c, err := (&net.Dialer{Deadline: deadline}).Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	w, err := handshake(c, u, protocol, deadline)
	if err != nil {
		c.Close()
		return nil, err
	}
	return w, nil
}

// handshake leaves the deadline set: the caller clears it when its own setup is done.
func handshake(c net.Conn, u *url.URL, protocol string, deadline time.Time) (*wsConn, error) {
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: " + protocol + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	// 4 KB: the handshake response fits, and 10,000 sockets each keep one
	br := bufio.NewReaderSize(c, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close() // a 101 has no body: nothing past the headers was consumed
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("handshake: status %s", resp.Status)
	}
	h := resp.Header
	if !strings.EqualFold(h.Get("Upgrade"), "websocket") ||
		!strings.Contains(strings.ToLower(h.Get("Connection")), "upgrade") {
		return nil, errors.New("handshake: not a websocket upgrade")
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if h.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, errors.New("handshake: bad Sec-WebSocket-Accept")
	}
	if p := h.Get("Sec-WebSocket-Protocol"); p != "" && p != protocol {
		return nil, fmt.Errorf("handshake: server chose subprotocol %q", p)
	}
	if e := h.Get("Sec-WebSocket-Extensions"); e != "" {
		return nil, fmt.Errorf("handshake: server chose extensions %q we did not offer", e)
	}
	return &wsConn{c: c, br: br}, nil
}

// writeFrame sends one masked frame with FIN set. It is called from the read goroutine
// (pongs) and from others (close), hence the mutex.
func (w *wsConn) writeFrame(op byte, payload []byte) error {
	n := len(payload)
	b := make([]byte, 0, 14+n)
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = binary.BigEndian.AppendUint32(b, mrand.Uint32())
	mask := b[len(b)-4:]
	start := len(b)
	b = append(b, payload...)
	for i := range n {
		b[start+i] ^= mask[i&3]
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closeSent {
		return errCloseSent // nothing may follow a close frame
	}
	if op == opClose {
		w.closeSent = true
	}
	if w.raw != nil {
		_, err := w.raw.Write(b)
		return err
	}
	_, err := w.c.Write(b)
	return err
}

func (w *wsConn) writeText(payload []byte) error { return w.writeFrame(opText, payload) }

func (w *wsConn) writeClose(code int) error {
	return w.writeFrame(opClose, binary.BigEndian.AppendUint16(nil, uint16(code)))
}

// readMessage returns the next text or binary message, answering pings on the way. The
// payload is valid until the next call.
func (w *wsConn) readMessage() ([]byte, error) {
	w.msg = w.msg[:0]
	fragmented := false
	for {
		if w.pending > 0 {
			w.br.Discard(w.pending) // bytes already buffered: cannot fail
			w.pending = 0
		}
		b0, err := w.br.ReadByte()
		if err != nil {
			return nil, err
		}
		b1, err := w.br.ReadByte()
		if err != nil {
			return nil, err
		}
		fin, op := b0&0x80 != 0, b0&0x0F
		if b0&0x70 != 0 {
			return nil, errors.New("websocket: reserved bits set without an extension")
		}
		if b1&0x80 != 0 {
			return nil, errors.New("websocket: masked frame from the server")
		}
		n := uint64(b1 & 0x7F)
		switch n {
		case 126:
			if _, err := io.ReadFull(w.br, w.hdr[:2]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(w.hdr[:2]))
		case 127:
			if _, err := io.ReadFull(w.br, w.hdr[:8]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(w.hdr[:8])
		}
		if op >= opClose {
			if !fin || n > 125 {
				return nil, errors.New("websocket: bad control frame")
			}
			p, err := w.payload(int(n))
			if err != nil {
				return nil, err
			}
			switch op {
			case opPing:
				// uvicorn drops sockets that leave its pings unanswered; after our close frame
				// no pong may go, and the server's close frame is still to be read
				if err := w.writeFrame(opPong, p); err != nil && err != errCloseSent {
					return nil, err
				}
			case opPong:
			case opClose:
				if len(p) == 1 {
					return nil, errors.New("websocket: 1-byte close payload")
				}
				code := statusNoStatus
				if len(p) >= 2 {
					code = int(binary.BigEndian.Uint16(p))
					p = p[:2]
				}
				_ = w.writeFrame(opClose, p) // the closing handshake's answer: the same code
				return nil, closeError(code)
			default:
				return nil, fmt.Errorf("websocket: unknown opcode %#x", op)
			}
			continue
		}
		switch {
		case op == opContinuation && !fragmented:
			return nil, errors.New("websocket: continuation without a first fragment")
		case (op == opText || op == opBinary) && fragmented:
			return nil, errors.New("websocket: new message inside a fragmented one")
		case op != opContinuation && op != opText && op != opBinary:
			return nil, fmt.Errorf("websocket: unknown opcode %#x", op)
		}
		if n > wsReadLimit-uint64(len(w.msg)) {
			return nil, payloadError{errReadLimit}
		}
		if fin && !fragmented {
			p, err := w.payload(int(n))
			if err != nil {
				return nil, payloadError{err}
			}
			return p, nil
		}
		// fragments go to w.msg: the bufio buffer cannot hold them all
		fragmented = true
		start := len(w.msg)
		w.msg = append(w.msg, make([]byte, n)...)
		if _, err := io.ReadFull(w.br, w.msg[start:]); err != nil {
			return nil, payloadError{err}
		}
		if fin {
			return w.msg, nil
		}
	}
}

// payload returns the next n bytes, without copying them when they fit the bufio buffer
// (every frame of the server's does).
func (w *wsConn) payload(n int) ([]byte, error) {
	if n <= w.br.Size() {
		p, err := w.br.Peek(n)
		if err != nil {
			return nil, err
		}
		w.pending = n
		return p, nil
	}
	if cap(w.msg) < n {
		w.msg = make([]byte, n)
	}
	p := w.msg[:n]
	if _, err := io.ReadFull(w.br, p); err != nil {
		return nil, err
	}
	return p, nil
}
