//go:build linux

package main

// The host's own cost of a delivered frame, without GoChat: one thread writes a small frame to
// each of many loopback TCP sockets in turn, as a server fans a message out, and another
// reads them on an epoll loop, as this client does. On a virtual machine the cost of that
// kernel work changes with the host's load, and the latency figures change with it; realtime.py
// prints this figure beside them so that runs taken at different times can be compared.

import (
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

const rusageThread = 1 // RUSAGE_THREAD

func threadCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &u); err != nil {
		fatal("getrusage: %v", err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

func socketFd(c net.Conn) int {
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		fatal("calibrate: %v", err)
	}
	fd := -1
	if err := raw.Control(func(orig uintptr) { fd, err = syscall.Dup(int(orig)) }); err != nil || fd < 0 {
		fatal("calibrate: dup: %v", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		fatal("calibrate: %v", err)
	}
	_ = c.Close()
	return fd
}

// calibrate sends `rounds` rounds of one `size`-byte frame to each of `sockets` connections
// and returns the CPU per frame of the writing and of the reading thread, in microseconds.
func calibrate(sockets, rounds, size int) map[string]any {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal("calibrate: %v", err)
	}
	defer listener.Close()
	writers := make([]int, sockets)
	readers := make([]int, sockets)
	for i := range sockets {
		dialled, err := net.Dial("tcp", listener.Addr().String())
		if err != nil {
			fatal("calibrate: %v", err)
		}
		accepted, err := listener.Accept()
		if err != nil {
			fatal("calibrate: %v", err)
		}
		writers[i], readers[i] = socketFd(accepted), socketFd(dialled)
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		fatal("calibrate: %v", err)
	}
	for _, fd := range readers {
		event := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &event); err != nil {
			fatal("calibrate: %v", err)
		}
	}
	want := int64(sockets * rounds * size)
	var got atomic.Int64
	roundRead := make(chan struct{}, rounds)
	readCPU := make(chan time.Duration)
	go func() {
		runtime.LockOSThread()
		start := threadCPU()
		events := make([]syscall.EpollEvent, 512)
		buf := make([]byte, 64<<10)
		perRound := int64(sockets * size)
		for got.Load() < want {
			n, err := syscall.EpollWait(epfd, events, 100)
			if err != nil && err != syscall.EINTR {
				fatal("calibrate: %v", err)
			}
			before := got.Load()
			for i := range max(n, 0) {
				if m, err := syscall.Read(int(events[i].Fd), buf); err == nil && m > 0 {
					got.Add(int64(m))
				}
			}
			for range got.Load()/perRound - before/perRound {
				roundRead <- struct{}{}
			}
		}
		readCPU <- threadCPU() - start
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	frame := make([]byte, size)
	start := threadCPU()
	began := time.Now()
	for range rounds {
		for _, fd := range writers {
			for {
				if _, err := syscall.Write(fd, frame); err != syscall.EAGAIN {
					break
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		// A fan-out is done when its frames are read: wait (asleep), as a server's next
		// message would.
		<-roundRead
	}
	written := threadCPU() - start
	read := <-readCPU
	elapsed := time.Since(began)
	for i := range sockets {
		syscall.Close(writers[i])
		syscall.Close(readers[i])
	}
	syscall.Close(epfd)
	frames := float64(sockets * rounds)
	return map[string]any{
		"frames":       sockets * rounds,
		"write_us":     float64(written.Nanoseconds()) / frames / 1000,
		"read_us":      float64(read.Nanoseconds()) / frames / 1000,
		"wall_us":      float64(elapsed.Nanoseconds()) / frames / 1000,
		"frame_bytes":  size,
		"socket_count": sockets,
	}
}
