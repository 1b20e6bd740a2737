package main

import "encoding/binary"

// yamux's frame header: version, type, flags, stream id, length (12 bytes); Data (type 0) has length payload bytes.
const (
	headerSize       = 12
	typeData         = 0
	typeWindowUpdate = 1
	flagSYN          = 0x1
	flagRST          = 0x8
)

// frameFollower follows the frames of one direction of a yamux connection through the bytes passed on, however
// they are cut: where each header ends and how much of a Data frame's payload is still to come.
type frameFollower struct {
	header [headerSize]byte
	have   int    // bytes of the current header passed so far
	skip   uint32 // payload bytes of the current Data frame still to come
}

// follow takes the next bytes passed on, and calls onHeader (if not nil) with each header they complete.
func (f *frameFollower) follow(b []byte, onHeader func(header []byte)) {
	for len(b) > 0 {
		if f.skip > 0 {
			k := f.skip
			if uint32(len(b)) < k {
				k = uint32(len(b))
			}
			b = b[k:]
			f.skip -= k
			continue
		}
		k := copy(f.header[f.have:], b)
		f.have += k
		b = b[k:]
		if f.have < headerSize {
			return
		}
		f.have = 0
		if onHeader != nil {
			onHeader(f.header[:])
		}
		if f.header[1] == typeData {
			f.skip = binary.BigEndian.Uint32(f.header[8:12])
		}
	}
}

// betweenFrames is whether the bytes passed on so far end with a whole frame.
func (f *frameFollower) betweenFrames() bool {
	return f.have == 0 && f.skip == 0
}

// toFrameEnd is how many of the next n bytes belong to the current frame (its header, or its payload).
func (f *frameFollower) toFrameEnd(n int) int {
	left := int(f.skip)
	if f.skip == 0 {
		left = headerSize - f.have
	}
	if n < left {
		return n
	}
	return left
}
