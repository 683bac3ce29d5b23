package main

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"sync"
	"time"
)

// frameTicks is one 20 ms Opus frame at 48 kHz in RTP timestamp units.
const frameTicks = 960

// arrival is one RTP packet as a receiver read it.
type arrival struct {
	at        time.Time
	timestamp uint32
}

// arrivals is what one receiver got from one source, in the order it read them.
type arrivals struct {
	mu   sync.Mutex
	list []arrival
}

func (a *arrivals) add(at time.Time, timestamp uint32) {
	a.mu.Lock()
	a.list = append(a.list, arrival{at, timestamp})
	a.mu.Unlock()
}

func (a *arrivals) snapshot() []arrival {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]arrival(nil), a.list...)
}

var errShortPacket = errors.New("RTP packet shorter than its fixed header")

// rtpTimestamp reads the timestamp of a serialized RTP packet (bytes 4-7 of the fixed header):
// the receivers parse nothing else.
func rtpTimestamp(packet []byte) (uint32, error) {
	if len(packet) < 12 {
		return 0, errShortPacket
	}
	return binary.BigEndian.Uint32(packet[4:8]), nil
}

// frameIndex is the sender's packet index of a received timestamp: the SFU gives each receiver
// its own timestamp origin, so indexes count frames from the first packet the receiver got
// (the sender's first, as nothing is sent before GO), modulo 2^32.
func frameIndex(first, timestamp uint32) int {
	return int((timestamp - first) / frameTicks)
}

// summarize gives how many distinct packets a receiver got from a source and, when the
// sender's send times are known (same process, same clock), the latency in milliseconds of
// the first copy of each packet that was sent: arrival minus the send time of the sender's
// packet with the same index.
func summarize(got []arrival, sentAt []time.Time) (received int, latencies []float64) {
	if len(got) == 0 {
		return 0, nil
	}
	first := got[0].timestamp
	seen := make(map[int]struct{}, len(got))
	for _, a := range got {
		k := frameIndex(first, a.timestamp)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if sentAt != nil && k < len(sentAt) {
			latencies = append(latencies, roundMillis(a.at.Sub(sentAt[k])))
		}
	}
	return len(seen), latencies
}

func roundMillis(d time.Duration) float64 {
	return math.Round(float64(d.Nanoseconds())/1e3) / 1e3
}

// sendTime is when a sender sends its k-th packet: 50 a second from its start. Senders start
// at evenly spread phases of the 20 ms period (phase in [0, 1)), as independent clients would,
// instead of all sending in the same instant.
func sendTime(begin time.Time, phase float64, k int) time.Time {
	period := time.Second / 50
	return begin.Add(time.Duration(phase*float64(period)) + time.Duration(k)*period)
}

// percentile is the value below which a fraction q of the values lie (nearest rank, as
// bench/voice.py computes its p99: sorted[int(n x q)]); 0 for no values.
func percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	i := int(float64(len(sorted)) * q)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
