//go:build linux

package main

// The receive side of every socket, on one epoll loop. A goroutine per socket costs this
// process a scheduler round trip, a netpoll wake-up and two read calls for every frame; here
// a frame costs one read (level-triggered: whatever a read leaves behind is reported again)
// and its parsing, so the client takes less of the cores it shares with the servers. Sockets
// are dialled and initialized with the blocking code in ws.go, then handed over.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const receiveBuffer = 4096

// rawConn is a socket the poller reads; writes (pongs, close frames) may come from any
// goroutine and go through wsConn.writeFrame's mutex.
type rawConn struct {
	fd   int
	buf  []byte
	r, w int // unread bytes are buf[r:w]
}

func (c *rawConn) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := syscall.Write(c.fd, b[written:])
		if err == syscall.EAGAIN {
			time.Sleep(100 * time.Microsecond) // a full send buffer: frames here are tiny
			continue
		}
		if err != nil {
			return written, err
		}
		written += n
	}
	return written, nil
}

type poller struct {
	epfd int
	// after each round of reads the loop sleeps this long (see run)
	pause time.Duration
	mu    sync.Mutex
	byFd  map[int32]*socket
	l     *load
	oob   [64]byte // control messages of the latest read (its arrival time)
}

func newPoller(l *load, pause time.Duration) *poller {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fatal("epoll: %v", err)
	}
	p := &poller{epfd: epfd, pause: pause, byFd: map[int32]*socket{}, l: l}
	go p.run()
	return p
}

// attach takes an initialized socket off Go's network poller: the poller reads a duplicate
// of its descriptor from now on, starting with whatever the handshake's reader buffered.
func (p *poller) attach(s *socket) error {
	tcp, ok := s.conn.c.(*net.TCPConn)
	if !ok {
		return errors.New("poller: not a TCP connection")
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(orig uintptr) { fd, dupErr = syscall.Dup(int(orig)) }); err != nil {
		return err
	}
	if dupErr != nil {
		return dupErr
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return err
	}
	// The kernel stamps each segment when it arrives: with the read time, a frame's latency
	// would include the time this loop, sharing the cores with the servers, took to get to
	// the socket.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		syscall.Close(fd)
		return err
	}
	rc := &rawConn{fd: fd, buf: make([]byte, receiveBuffer)}
	if s.conn.pending > 0 { // the payload readMessage returned last is still buffered
		s.conn.br.Discard(s.conn.pending)
		s.conn.pending = 0
	}
	if n := s.conn.br.Buffered(); n > 0 {
		if n > len(rc.buf) {
			rc.buf = make([]byte, n)
		}
		buffered, _ := s.conn.br.Peek(n)
		rc.w = copy(rc.buf, buffered)
	}
	s.conn.wmu.Lock()
	s.conn.c = nil
	s.conn.raw = rc
	s.conn.br = nil
	s.conn.wmu.Unlock()
	tcp.Close() // the duplicate keeps the connection open
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byFd[int32(fd)] = s
	event := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &event); err != nil {
		p.finish(s, "eof")
		return nil // counted as a socket closed early, as a failed read was before
	}
	if rc.w > 0 {
		now := time.Now().UnixNano()
		p.parse(s, now, now)
	}
	return nil
}

func (p *poller) run() {
	runtime.LockOSThread()
	events := make([]syscall.EpollEvent, 512)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fatal("epoll_wait: %v", err)
		}
		p.mu.Lock()
		for i := range n {
			s := p.byFd[events[i].Fd]
			if s != nil {
				p.readable(s)
			}
		}
		p.mu.Unlock()
		if p.pause > 0 {
			// On loopback a server's write to a socket whose reader waits in epoll_wait
			// also pays, inside that write, for waking the reader (dear on a virtual
			// machine), and the reader then takes one frame per wake-up. While this loop
			// sleeps, frames only queue in the kernel, and the next round reads all that
			// came. Frames are timestamped when read: the pause counts against the
			// measured latency, never for it.
			time.Sleep(p.pause)
		}
	}
}

// readable reads once; a frame cut by the buffer's end waits, compacted, for the next read.
func (p *poller) readable(s *socket) {
	rc := s.conn.raw
	if rc.r > 0 && rc.r == rc.w {
		rc.r, rc.w = 0, 0
	}
	if len(rc.buf)-rc.w < 512 && rc.r > 0 {
		rc.w = copy(rc.buf, rc.buf[rc.r:rc.w])
		rc.r = 0
	}
	if rc.w == len(rc.buf) {
		rc.buf = append(rc.buf, make([]byte, len(rc.buf))...)
	}
	n, oobn, _, _, err := syscall.Recvmsg(rc.fd, rc.buf[rc.w:], p.oob[:], 0)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if err != nil || n == 0 {
		p.finish(s, "eof")
		return
	}
	rc.w += n
	now := time.Now().UnixNano()
	arrived := arrivalTime(p.oob[:oobn])
	if arrived == 0 {
		arrived = now
	}
	p.parse(s, now, arrived)
}

// arrivalTime is the SCM_TIMESTAMPNS of a TCP read: when the last segment it returned
// arrived (so a read that returns several frames dates the earlier ones late, never early);
// 0 when there is none.
func arrivalTime(oob []byte) int64 {
	const header = 16 // struct cmsghdr on 64-bit Linux: length, level, type
	for len(oob) >= header {
		length := int(binary.NativeEndian.Uint64(oob))
		if length < header || length > len(oob) {
			return 0
		}
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		kind := int32(binary.NativeEndian.Uint32(oob[12:]))
		if level == syscall.SOL_SOCKET && kind == syscall.SO_TIMESTAMPNS && length >= header+16 {
			seconds := int64(binary.NativeEndian.Uint64(oob[header:]))
			nanos := int64(binary.NativeEndian.Uint64(oob[header+8:]))
			return seconds*1e9 + nanos
		}
		oob = oob[(length+7)&^7:]
	}
	return 0
}

// parse handles every whole frame buffered; it follows readMessage's rules, except that
// fragmented messages (which the server never sends) count as a broken stream.
func (p *poller) parse(s *socket, now, arrived int64) {
	rc := s.conn.raw
	for {
		frame := rc.buf[rc.r:rc.w]
		op, payload, size, err := nextFrame(frame)
		if err != nil {
			p.finish(s, "read")
			return
		}
		if size == 0 {
			if need := wantedBytes(frame); need > len(rc.buf) {
				grown := make([]byte, need)
				rc.w = copy(grown, frame)
				rc.r = 0
				rc.buf = grown
			}
			return
		}
		rc.r += size
		switch op {
		case opText, opBinary:
			p.l.onMessage(s, payload, now, arrived)
		case opPing:
			if err := s.conn.writeFrame(opPong, payload); err != nil && err != errCloseSent {
				p.finish(s, "eof")
				return
			}
		case opPong:
		case opClose:
			if len(payload) == 1 {
				p.finish(s, "read")
				return
			}
			code := statusNoStatus
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
				payload = payload[:2]
			}
			_ = s.conn.writeFrame(opClose, payload)
			p.finish(s, fmt.Sprint(code))
			return
		default:
			p.finish(s, "read")
			return
		}
	}
}

// nextFrame parses the frame at the start of b: its opcode, payload and whole size, or a
// size of 0 when b does not hold all of it yet.
func nextFrame(b []byte) (op byte, payload []byte, size int, err error) {
	if len(b) < 2 {
		return 0, nil, 0, nil
	}
	b0, b1 := b[0], b[1]
	if b0&0x70 != 0 {
		return 0, nil, 0, errors.New("websocket: reserved bits set without an extension")
	}
	if b1&0x80 != 0 {
		return 0, nil, 0, errors.New("websocket: masked frame from the server")
	}
	if b0&0x80 == 0 || b0&0x0F == opContinuation {
		return 0, nil, 0, errors.New("websocket: fragmented message")
	}
	op = b0 & 0x0F
	header, n := 2, uint64(b1&0x7F)
	switch n {
	case 126:
		if len(b) < 4 {
			return 0, nil, 0, nil
		}
		header, n = 4, uint64(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		if len(b) < 10 {
			return 0, nil, 0, nil
		}
		header, n = 10, binary.BigEndian.Uint64(b[2:10])
	}
	if op >= opClose && n > 125 {
		return 0, nil, 0, errors.New("websocket: bad control frame")
	}
	if n > wsReadLimit {
		return 0, nil, 0, errReadLimit
	}
	if uint64(len(b)-header) < n {
		return 0, nil, 0, nil
	}
	size = header + int(n)
	return op, b[header:size], size, nil
}

// wantedBytes is the size of the frame at the start of b, as far as its header tells.
func wantedBytes(b []byte) int {
	if len(b) < 10 {
		return 10
	}
	switch n := b[1] & 0x7F; n {
	case 126:
		return 4 + int(binary.BigEndian.Uint16(b[2:4]))
	case 127:
		return 10 + int(binary.BigEndian.Uint64(b[2:10]))
	default:
		return 2 + int(n)
	}
}

// finish closes a socket the poller gave up on or that the server closed; p.mu is held.
func (p *poller) finish(s *socket, closedWith string) {
	rc := s.conn.raw
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, rc.fd, nil)
	delete(p.byFd, int32(rc.fd))
	s.conn.wmu.Lock()
	syscall.Close(rc.fd)
	s.conn.closeSent = true // nothing more may be written to a closed descriptor
	s.conn.wmu.Unlock()
	s.mu.Lock()
	s.closedWith = closedWith
	s.mu.Unlock()
	close(s.done)
	p.l.readersWG.Done()
}
