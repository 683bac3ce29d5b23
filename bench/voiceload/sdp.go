package main

import "strings"

// inactive rewrites the direction of the m-section whose MID is mid to "inactive".
//
// The SFU offers every member receive-only m-lines for its microphone and camera. Pion answers
// an offered recvonly m-line it has no track for as "sendonly" (with no SSRC), and the SFU
// then takes the member for a source and links it to every other member: an m-line, a sender
// and its RTCP reports each, and a renegotiation of the whole room. A listener answers its
// audio m-line, and every member its video m-line, inactive, as the Python client does.
func inactive(sdp, mid string) string {
	lines := strings.SplitAfter(sdp, "\n")
	start := -1
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && !strings.HasPrefix(lines[i], "m=") {
			continue
		}
		if start >= 0 && hasMid(lines[start:i], mid) {
			for j := start; j < i; j++ {
				switch strings.TrimRight(lines[j], "\r\n") {
				case "a=sendonly", "a=sendrecv", "a=recvonly":
					lines[j] = "a=inactive" + lines[j][len(strings.TrimRight(lines[j], "\r\n")):]
				}
			}
		}
		start = i
	}
	return strings.Join(lines, "")
}

func hasMid(section []string, mid string) bool {
	for _, line := range section {
		if strings.TrimRight(line, "\r\n") == "a=mid:"+mid {
			return true
		}
	}
	return false
}
